package pgkit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// tyMigrations is a schema of the types sqlc projects use and pgx decodes
// only once they are registered on the connection: an enum and its array,
// a domain over text with a CHECK, a composite of them and its array; and
// ty_label, an enum of many labels, for
// TestMultiplexRegisteredTypesConcurrently.
var tyMigrations = fstest.MapFS{
	"00001_types.sql": {Data: []byte(`-- +goose Up
CREATE TYPE ty_status AS ENUM ('pending', 'paid', 'shipped', 'cancelled');
CREATE TYPE ty_label AS ENUM (` + tyLabels() + `);
CREATE DOMAIN ty_sku AS text CONSTRAINT ty_sku_check CHECK (VALUE ~ '^[A-Z]{3}-[0-9]{4}$');
CREATE TYPE ty_line AS (code ty_sku, qty int4, state ty_status);
CREATE TABLE ty_orders (
    id         int8 PRIMARY KEY,
    state      ty_status NOT NULL,
    history    ty_status[] NOT NULL,
    code       ty_sku NOT NULL,
    first_line ty_line,
    lines      ty_line[] NOT NULL,
    meta       jsonb NOT NULL,
    cents      int8 NOT NULL
);

-- +goose Down
DROP TABLE ty_orders;
DROP TYPE ty_line;
DROP DOMAIN ty_sku;
DROP TYPE ty_status;
DROP TYPE ty_label;
`)},
}

// tyLabelCount is how many labels ty_label has: 'l0', 'l1', ….
const tyLabelCount = 2000

func tyLabels() string {
	labels := make([]string, tyLabelCount)
	for i := range labels {
		labels[i] = fmt.Sprintf("'l%d'", i)
	}
	return strings.Join(labels, ", ")
}

// tyStatus is the enum as sqlc generates it: a string type.
type tyStatus string

type tyLine struct {
	Code  string
	Qty   int32
	State tyStatus
}

// tyCents is a type only the scan wrapper tyWrapCents (registered in
// AfterConnect, as extensions such as pgx-shopspring-decimal register
// theirs) can scan into.
type tyCents struct{ N int64 }

type tyOrder struct {
	ID        int64
	State     tyStatus
	History   []tyStatus
	Code      string
	FirstLine *tyLine
	Lines     []tyLine
	Meta      map[string]any
	Cents     tyCents
}

const (
	tyInsert = `INSERT INTO ty_orders (id, state, history, code, first_line, lines, meta, cents) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
	tySelect = `SELECT id, state, history, code, first_line, lines, meta, cents FROM ty_orders`
	// tyEcho sends every type as a parameter and gets it back as a result,
	// without a table.
	tyEcho = `SELECT $1::int8, $2::ty_status, $3::ty_status[], $4::ty_sku, $5::ty_line, $6::ty_line[], $7::jsonb, $8::int8`
)

// tyWant is the order with id; its values differ per id so that a row
// read back for the wrong id shows.
func tyWant(id int64) tyOrder {
	o := tyOrder{
		ID: id, State: "paid", History: []tyStatus{"pending", "paid"}, Code: "ABC-0001",
		Lines: []tyLine{{Code: "ABC-0001", Qty: int32(id), State: "shipped"}, {Code: "XYZ-9999", Qty: 2, State: "cancelled"}},
		// A number no float64 holds exactly: the jsonb codec registered in
		// AfterConnect decodes it as a json.Number.
		Meta:  map[string]any{"big": json.Number("12345678901234567890"), "id": json.Number(strings.Repeat("7", 1+int(id%5)))},
		Cents: tyCents{N: 100 * id},
	}
	if id%2 == 0 {
		o.FirstLine = &tyLine{Code: "DEF-1234", Qty: 7, State: "pending"}
	}
	return o
}

// args are o as parameters, in tyInsert's and tyEcho's order.
func (o tyOrder) args() []any {
	meta, err := json.Marshal(o.Meta)
	if err != nil {
		panic(err)
	}
	return []any{o.ID, o.State, o.History, o.Code, o.FirstLine, o.Lines, string(meta), o.Cents.N}
}

func (o *tyOrder) dest() []any {
	return []any{&o.ID, &o.State, &o.History, &o.Code, &o.FirstLine, &o.Lines, &o.Meta, &o.Cents}
}

// tyWrapCents lets a *tyCents be scanned from an integer.
func tyWrapCents(target any) (pgtype.WrappedScanPlanNextSetter, any, bool) {
	if c, ok := target.(*tyCents); ok {
		return &tyCentsPlan{}, &c.N, true
	}
	return nil, nil, false
}

type tyCentsPlan struct{ next pgtype.ScanPlan }

func (p *tyCentsPlan) SetNext(next pgtype.ScanPlan) { p.next = next }

func (p *tyCentsPlan) Scan(src []byte, target any) error {
	return p.next.Scan(src, &target.(*tyCents).N)
}

// tyAfterConnect registers the schema's types as a sqlc project does, a
// jsonb codec that keeps numbers exact in place of pgx's own, and a scan
// wrapper.
func tyAfterConnect(ctx context.Context, conn *pgx.Conn) error {
	types, err := conn.LoadTypes(ctx, []string{"ty_status", "_ty_status", "ty_sku", "ty_line", "_ty_line", "ty_label", "_ty_label"})
	if err != nil {
		return err
	}
	tm := conn.TypeMap()
	tm.RegisterTypes(types)
	tm.RegisterType(&pgtype.Type{Name: "jsonb", OID: pgtype.JSONBOID, Codec: &pgtype.JSONBCodec{
		Marshal: json.Marshal,
		Unmarshal: func(data []byte, v any) error {
			d := json.NewDecoder(bytes.NewReader(data))
			d.UseNumber()
			return d.Decode(v)
		},
	}})
	tm.TryWrapScanPlanFuncs = append([]pgtype.TryWrapScanPlanFunc{tyWrapCents}, tm.TryWrapScanPlanFuncs...)
	return nil
}

// tyQueries stands for the Queries sqlc generates, on the generated
// package's own DBTX interface (with :copyfrom and :batch queries, as
// pgkit's generic functions take).
type tyQueries struct{ db tyDBTX }

type tyDBTX interface {
	Exec(context.Context, string, ...interface{}) (pgconn.CommandTag, error)
	Query(context.Context, string, ...interface{}) (pgx.Rows, error)
	QueryRow(context.Context, string, ...interface{}) pgx.Row
	CopyFrom(ctx context.Context, tableName pgx.Identifier, columnNames []string, rowSrc pgx.CopyFromSource) (int64, error)
	SendBatch(context.Context, *pgx.Batch) pgx.BatchResults
}

func newTyQueries(db tyDBTX) *tyQueries { return &tyQueries{db: db} }

func (q *tyQueries) insert(ctx context.Context, o tyOrder) error {
	_, err := q.db.Exec(ctx, tyInsert, o.args()...)
	return err
}

// get is a :one.
func (q *tyQueries) get(ctx context.Context, id int64) (tyOrder, error) {
	var o tyOrder
	err := q.db.QueryRow(ctx, tySelect+` WHERE id = $1`, id).Scan(o.dest()...)
	return o, err
}

// list is a :many, with an array parameter.
func (q *tyQueries) list(ctx context.Context, ids []int64) ([]tyOrder, error) {
	rows, err := q.db.Query(ctx, tySelect+` WHERE id = ANY($1) ORDER BY id`, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []tyOrder
	for rows.Next() {
		var o tyOrder
		if err := rows.Scan(o.dest()...); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// echo sends o as parameters and scans them back.
func (q *tyQueries) echo(ctx context.Context, o tyOrder) (tyOrder, error) {
	var got tyOrder
	err := q.db.QueryRow(ctx, tyEcho, o.args()...).Scan(got.dest()...)
	return got, err
}

// values is the Values() of o's row, in JSON (what Values returns for a
// composite or an enum array is pgx's own representation).
func (q *tyQueries) values(ctx context.Context, id int64) (string, error) {
	rows, err := q.db.Query(ctx, tySelect+` WHERE id = $1`, id)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	if !rows.Next() {
		return "", errors.New("no row")
	}
	vals, err := rows.Values()
	if err != nil {
		return "", err
	}
	if rows.TypeMap() == nil {
		return "", errors.New("rows have no TypeMap")
	}
	b, err := json.Marshal(vals)
	return string(b), err
}

// tyOpen opens a DB on a fresh database of tyMigrations, its connections
// set up by tyAfterConnect.
func tyOpen(t *testing.T, multiplex bool) *pgkit.DB {
	t.Helper()
	d := pgkittest.NewWithConfig(t, tyMigrations, pgkit.Config{MaxConns: 4, Multiplex: multiplex, AfterConnect: tyAfterConnect})
	if d.Multiplexing() != multiplex {
		t.Fatalf("Multiplexing() = %v, want %v", d.Multiplexing(), multiplex)
	}
	return d
}

// tyCheck round-trips order id through q: inserted, read back by the :one
// and the :many, echoed as parameters, and their Values.
func tyCheck(t *testing.T, ctx context.Context, path string, q *tyQueries, id int64) (values string) {
	t.Helper()
	want := tyWant(id)
	if err := q.insert(ctx, want); err != nil {
		t.Fatalf("%s: insert: %v", path, err)
	}
	got, err := q.get(ctx, id)
	if err != nil {
		t.Fatalf("%s: get: %v", path, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: get:\n got %+v\nwant %+v", path, got, want)
	}
	list, err := q.list(ctx, []int64{id, -1})
	if err != nil {
		t.Fatalf("%s: list: %v", path, err)
	}
	if !reflect.DeepEqual(list, []tyOrder{want}) {
		t.Errorf("%s: list:\n got %+v\nwant [%+v]", path, list, want)
	}
	echo, err := q.echo(ctx, want)
	if err != nil {
		t.Fatalf("%s: echo: %v", path, err)
	}
	if !reflect.DeepEqual(echo, want) {
		t.Errorf("%s: echo:\n got %+v\nwant %+v", path, echo, want)
	}
	values, err = q.values(ctx, id)
	if err != nil {
		t.Fatalf("%s: values: %v", path, err)
	}
	return values
}

// TestAfterConnectTypesOnEveryPath round-trips an enum, an enum array, a
// domain, a composite and a composite array (and a jsonb codec and a scan
// wrapper registered over pgx's own) as parameters and as results, the same
// on a plain pool, a multiplexing one, inside WithTx, through Stream and
// QueryStream, and through Pipeline. Without the types registered, pgx
// cannot scan them (checked first, so that the test proves something).
func TestAfterConnectTypesOnEveryPath(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	bare := pgkittest.NewWithConfig(t, tyMigrations, pgkit.Config{MaxConns: 2})
	var history []tyStatus
	if err := bare.QueryRow(ctx, `SELECT '{paid}'::ty_status[]`).Scan(&history); err == nil {
		t.Fatal("an unregistered enum array scanned without AfterConnect: the test proves nothing")
	}

	plain, mx := tyOpen(t, false), tyOpen(t, true)
	var wantValues string
	for _, d := range []*pgkit.DB{plain, mx} {
		name := map[bool]string{false: "pool", true: "multiplexed"}[d.Multiplexing()]
		before := d.MultiplexStats().Statements
		values := tyCheck(t, ctx, name, newTyQueries(d), 2)
		if d.Multiplexing() && d.MultiplexStats().Statements-before < 5 {
			t.Errorf("%s: %d statements multiplexed, want the 5 of the round trip", name, d.MultiplexStats().Statements-before)
		}
		// Values: the same Go values on both.
		if wantValues == "" {
			wantValues = values
		} else if values != wantValues {
			t.Errorf("%s: Values differ:\n got %s\nwant %s", name, values, wantValues)
		}

		// Several lanes at once: every lane's connection loaded its own
		// types, which the decode maps pass between them.
		errs := make(chan error, 8)
		for g := range int64(8) {
			go func() {
				q := newTyQueries(d)
				id := 100 + g
				if err := q.insert(ctx, tyWant(id)); err != nil {
					errs <- err
					return
				}
				for range 20 {
					o, err := q.get(ctx, id)
					if err == nil && !reflect.DeepEqual(o, tyWant(id)) {
						err = errors.New("wrong values")
					}
					if err != nil {
						errs <- err
						return
					}
				}
				errs <- nil
			}()
		}
		for range 8 {
			if err := <-errs; err != nil {
				t.Errorf("%s: concurrent get: %v", name, err)
			}
		}

		err := pgkit.WithTx(ctx, d, newTyQueries, func(q *tyQueries) error {
			tyCheck(t, ctx, name+" WithTx", q, 4)
			return nil
		})
		if err != nil {
			t.Fatalf("%s: WithTx: %v", name, err)
		}

		if err := newTyQueries(d).insert(ctx, tyWant(6)); err != nil {
			t.Fatal(err)
		}
		var streamed []tyOrder
		for o, err := range pgkit.Stream[tyOrder](ctx, d, tySelect+` WHERE id = ANY($1) ORDER BY id`, []int64{4, 6}) {
			if err != nil {
				t.Fatalf("%s: Stream: %v", name, err)
			}
			streamed = append(streamed, o)
		}
		if want := []tyOrder{tyWant(4), tyWant(6)}; !reflect.DeepEqual(streamed, want) {
			t.Errorf("%s: Stream:\n got %+v\nwant %+v", name, streamed, want)
		}
		rows, err := d.QueryStream(ctx, tyEcho, tyWant(7).args()...)
		if err != nil {
			t.Fatalf("%s: QueryStream: %v", name, err)
		}
		var echoed tyOrder
		for rows.Next() {
			if err := rows.Scan(echoed.dest()...); err != nil {
				t.Fatalf("%s: QueryStream: %v", name, err)
			}
		}
		if rows.Err() != nil {
			t.Fatalf("%s: QueryStream: %v", name, rows.Err())
		}
		if !reflect.DeepEqual(echoed, tyWant(7)) {
			t.Errorf("%s: QueryStream:\n got %+v\nwant %+v", name, echoed, tyWant(7))
		}

		var (
			piped  tyOrder
			listed []tyOrder
			echo   tyOrder
		)
		err = pgkit.Pipeline(ctx, d, newTyQueries,
			func(ctx context.Context, q *tyQueries) error { return q.insert(ctx, tyWant(8)) },
			func(ctx context.Context, q *tyQueries) (err error) { piped, err = q.get(ctx, 6); return err },
			func(ctx context.Context, q *tyQueries) (err error) {
				listed, err = q.list(ctx, []int64{2, 4})
				return err
			},
			func(ctx context.Context, q *tyQueries) (err error) { echo, err = q.echo(ctx, tyWant(9)); return err },
		)
		if err != nil {
			t.Fatalf("%s: Pipeline: %v", name, err)
		}
		if !reflect.DeepEqual(piped, tyWant(6)) || !reflect.DeepEqual(listed, []tyOrder{tyWant(2), tyWant(4)}) || !reflect.DeepEqual(echo, tyWant(9)) {
			t.Errorf("%s: Pipeline: got %+v, %+v, %+v", name, piped, listed, echo)
		}
		if o, err := newTyQueries(d).get(ctx, 8); err != nil || !reflect.DeepEqual(o, tyWant(8)) {
			t.Errorf("%s: the order Pipeline inserted: %+v, %v", name, o, err)
		}

		// The domain's CHECK: the same typed error on every path.
		bad := tyWant(10)
		bad.Code = "lowercase"
		err = newTyQueries(d).insert(ctx, bad)
		var ce *pgerr.ConstraintError
		if !errors.As(err, &ce) || ce.Constraint != "ty_sku_check" {
			t.Errorf("%s: a value the domain's CHECK refuses: %v, want a *pgerr.ConstraintError for ty_sku_check", name, err)
		}
	}
}
