package pgkit_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/kittest"
)

// copyWideTable has a column of every type pgkit's COPY encodes itself
// and of types it leaves to pgx (numeric, jsonb, an array, date, an
// enum, a domain).
const copyWideTable = `CREATE TYPE copy_mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN copy_pos AS integer CHECK (VALUE > 0);
CREATE TABLE %s (
  i2 smallint, i4 integer, i8 bigint, f4 real, f8 double precision, b boolean,
  t text, vc varchar(20), bp char(3), nm name, ba bytea, ts timestamptz, u uuid,
  num numeric, js jsonb, arr integer[], d date, mood copy_mood, pos copy_pos)`

var copyWideColumns = []string{"i2", "i4", "i8", "f4", "f8", "b", "t", "vc", "bp", "nm", "ba", "ts", "u", "num", "js", "arr", "d", "mood", "pos"}

// copyWideRows are n rows of random and extreme values, some NULL, as the
// Go types sqlc generates (values, pgtype's, pointers) and a few others.
func copyWideRows(n int) [][]any {
	r := rand.New(rand.NewPCG(18, uint64(n)))
	extremes := [][]any{
		{int16(math.MinInt16), int32(math.MinInt32), int64(math.MinInt64), float32(math.Inf(-1)), math.NaN(), false,
			"", "", "", "", []byte{}, time.Date(1, 1, 1, 0, 0, 0, 1500, time.UTC), [16]byte{},
			-1e-30, `{}`, []int32{}, time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), "sad", int32(1)},
		{int16(math.MaxInt16), int32(math.MaxInt32), int64(math.MaxInt64), float32(math.MaxFloat32), math.MaxFloat64, true,
			strings.Repeat("ü", 70_000), "twenty chars exactly", "abc", strings.Repeat("n", 63), make([]byte, 1<<20),
			time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.FixedZone("e", 9*3600)), [16]byte{255, 1},
			pgtype.Numeric{Int: big.NewInt(-12345678901234567), Exp: -10, Valid: true}, `{"a":[1,null,"x"]}`, []int32{math.MinInt32, 0, math.MaxInt32},
			time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), "happy", int32(math.MaxInt32)},
		{pgtype.Int2{}, pgtype.Int4{}, pgtype.Int8{}, nil, pgtype.Float8{}, pgtype.Bool{}, pgtype.Text{}, nil, nil, nil,
			[]byte(nil), pgtype.Timestamptz{}, pgtype.UUID{}, nil, nil, nil, nil, nil, nil},
		{kittest.Ptr(int16(5)), kittest.Ptr(int32(-5)), kittest.Ptr(int64(5)), kittest.Ptr(float32(0.5)), kittest.Ptr(-0.0),
			kittest.Ptr(true), kittest.Ptr("ptr"), kittest.Ptr("v"), kittest.Ptr("x"), kittest.Ptr("n"), kittest.Ptr([]byte("p")),
			kittest.Ptr(time.Unix(-1, 1)), pgtype.UUID{Bytes: [16]byte{7}, Valid: true}, kittest.Ptr(0.0), kittest.Ptr(`[1]`),
			[]int32{7}, kittest.Ptr(time.Unix(0, 0).UTC()), kittest.Ptr("ok"), kittest.Ptr(int32(9))},
		{int64(3), int64(4), int32(5), 1.5, float32(2.5), pgtype.Bool{Bool: true, Valid: true}, []byte("bytes as text"),
			pgtype.Text{String: "pgtype", Valid: true}, "ab", "nm", []byte{0, 0, 0},
			pgtype.Timestamptz{InfinityModifier: pgtype.Infinity, Valid: true}, "00000000-0000-0000-0000-000000000009",
			pgtype.Numeric{Int: nil, NaN: true, Valid: true}, map[string]any{"m": 1}, "{1,2,3}", "2020-02-29", "ok", "5"},
	}
	rows := append([][]any{}, extremes...)
	for len(rows) < n {
		row := []any{int16(r.IntN(1 << 16)), r.Int32() - math.MaxInt32/2, r.Int64() - math.MaxInt64/2, r.Float32(),
			r.NormFloat64() * 1e300, r.IntN(2) == 0, fmt.Sprint("t", r.Uint64()), fmt.Sprint("v", r.IntN(1e6)), "c",
			fmt.Sprint("n", r.IntN(99)), []byte(fmt.Sprint(r.Uint64())),
			time.Unix(r.Int64N(400*365*86400)-200*365*86400, r.Int64N(1e9)), [16]byte{byte(r.Uint32()), byte(r.Uint32())},
			r.Float64() * 1e9, fmt.Sprintf(`{"k":%d}`, r.IntN(1000)),
			[]int32{r.Int32(), -r.Int32()}, time.Date(1900+r.IntN(300), 1, 1+r.IntN(365), 0, 0, 0, 0, time.UTC),
			[]string{"sad", "ok", "happy"}[r.IntN(3)], int32(1 + r.IntN(1000))}
		if r.IntN(5) == 0 {
			row[r.IntN(len(row))] = nil
		}
		rows = append(rows, row)
	}
	return rows
}

// Every row COPYd by pgkit is stored as pgx's own CopyFrom stores it: on
// the pool, on a connection and in a transaction.
func TestCopyFromMatchesPgx(t *testing.T) {
	ctx, d, _ := setup(t)
	tables := []string{"copy_pgx", "copy_db", "copy_conn", "copy_tx"}
	for i, name := range tables {
		ddl := fmt.Sprintf(copyWideTable, name)
		if i > 0 {
			ddl = ddl[strings.Index(ddl, "CREATE TABLE"):]
		}
		kittest.Must(d.Exec(ctx, ddl))(t)
	}
	rows := copyWideRows(3000)
	pc := kittest.Must(d.Pool().Acquire(ctx))(t)
	defer pc.Release()
	if n := kittest.Must(pc.Conn().CopyFrom(ctx, pgx.Identifier{"copy_pgx"}, copyWideColumns, pgx.CopyFromRows(rows)))(t); n != int64(len(rows)) {
		t.Fatalf("pgx copied %d of %d", n, len(rows))
	}
	copies := map[string]func(table string) (int64, error){
		"copy_db": func(table string) (int64, error) {
			return d.CopyFrom(ctx, pgx.Identifier{table}, copyWideColumns, pgx.CopyFromRows(rows))
		},
		"copy_conn": func(table string) (int64, error) {
			return pgkit.Wrap(pc).CopyFrom(ctx, pgx.Identifier{table}, copyWideColumns, pgx.CopyFromRows(rows))
		},
		"copy_tx": func(table string) (n int64, err error) {
			err = pgkit.WithTx(ctx, d, func(tx pgx.Tx) pgx.Tx { return tx }, func(tx pgx.Tx) error {
				n, err = tx.CopyFrom(ctx, pgx.Identifier{table}, copyWideColumns, pgx.CopyFromRows(rows))
				return err
			})
			return n, err
		},
	}
	for table, copyRows := range copies {
		if n := kittest.Must(copyRows(table))(t); n != int64(len(rows)) {
			t.Fatalf("%s: copied %d of %d", table, n, len(rows))
		}
		for _, q := range []string{"TABLE copy_pgx EXCEPT ALL TABLE " + table, "TABLE " + table + " EXCEPT ALL TABLE copy_pgx"} {
			var differ int
			if err := d.QueryRow(ctx, "SELECT count(*) FROM ("+q+") x").Scan(&differ); err != nil {
				t.Fatal(err)
			}
			if differ != 0 {
				t.Errorf("%s: %d rows of %q", table, differ, q)
			}
		}
	}
}

// What pgx's CopyFrom refuses, pgkit's refuses, with pgx's message, and
// stores nothing; the connection stays usable.
func TestCopyFromRefusesAsPgx(t *testing.T) {
	ctx, d, _ := setup(t)
	kittest.Must(d.Exec(ctx, "CREATE TABLE copy_bad (a integer, b text)"))(t)
	srcErr := errors.New("the source broke")
	cases := []struct {
		name string
		src  func() pgx.CopyFromSource
	}{
		{"too few values", func() pgx.CopyFromSource { return pgx.CopyFromRows([][]any{{int32(1)}}) }},
		{"a struct", func() pgx.CopyFromSource { return pgx.CopyFromRows([][]any{{struct{}{}, "x"}}) }},
		{"not a number", func() pgx.CopyFromSource { return pgx.CopyFromRows([][]any{{"1", "x"}, {"one", "y"}}) }},
		{"out of range", func() pgx.CopyFromSource { return pgx.CopyFromRows([][]any{{int64(1 << 40), "x"}}) }},
		{"the source's error", func() pgx.CopyFromSource {
			return pgx.CopyFromFunc(func() ([]any, error) { return nil, srcErr })
		}},
	}
	pc := kittest.Must(d.Pool().Acquire(ctx))(t)
	defer pc.Release()
	for _, c := range cases {
		_, want := pc.Conn().CopyFrom(ctx, pgx.Identifier{"copy_bad"}, []string{"a", "b"}, c.src())
		_, got := d.CopyFrom(ctx, pgx.Identifier{"copy_bad"}, []string{"a", "b"}, c.src())
		if want == nil || got == nil {
			t.Fatalf("%s: pgx %v, pgkit %v: both should fail", c.name, want, got)
		}
		if !strings.Contains(got.Error(), want.Error()) && !strings.Contains(want.Error(), got.Error()) {
			t.Errorf("%s:\npgkit: %v\n  pgx: %v", c.name, got, want)
		}
	}
	_, err := d.CopyFrom(ctx, pgx.Identifier{"no_such_table"}, []string{"a"}, pgx.CopyFromRows([][]any{{1}}))
	if err == nil || !strings.Contains(err.Error(), "no_such_table") {
		t.Fatalf("COPY into a missing table: %v", err)
	}
	var n int
	if err := d.QueryRow(ctx, "SELECT count(*) FROM copy_bad").Scan(&n); err != nil || n != 0 {
		t.Fatalf("copy_bad holds %d rows (%v), want 0", n, err)
	}
}

// copyTrace records a tracer's COPY calls.
type copyTrace struct {
	mu     sync.Mutex
	starts []pgx.TraceCopyFromStartData
	ends   []pgx.TraceCopyFromEndData
}

func (c *copyTrace) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}
func (c *copyTrace) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (c *copyTrace) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceCopyFromStartData) context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.starts = append(c.starts, d)
	return ctx
}
func (c *copyTrace) TraceCopyFromEnd(_ context.Context, _ *pgx.Conn, d pgx.TraceCopyFromEndData) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ends = append(c.ends, d)
}

// The tracer sees each COPY begin and end, with its table, rows and
// error, a failed description included.
func TestCopyFromTraced(t *testing.T) {
	ctx, plain, _ := setup(t)
	kittest.Must(plain.Exec(ctx, "CREATE TABLE copy_traced (a integer)"))(t)
	tr := &copyTrace{}
	d := kittest.Must(pgkit.Open(ctx, plain.Pool().Config().ConnString(), pgkit.Config{Tracer: tr}))(t)
	defer d.Close()
	kittest.Must(d.CopyFrom(ctx, pgx.Identifier{"copy_traced"}, []string{"a"}, pgx.CopyFromRows([][]any{{1}, {2}})))(t)
	_, err := d.CopyFrom(ctx, pgx.Identifier{"copy_missing"}, []string{"a"}, pgx.CopyFromRows([][]any{{1}}))
	if err == nil {
		t.Fatal("COPY into a missing table succeeded")
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.starts) != 2 || len(tr.ends) != 2 {
		t.Fatalf("%d starts and %d ends, want 2 of each", len(tr.starts), len(tr.ends))
	}
	if tr.starts[0].TableName[0] != "copy_traced" || tr.ends[0].CommandTag.RowsAffected() != 2 || tr.ends[0].Err != nil {
		t.Errorf("first COPY traced as %+v, %+v", tr.starts[0], tr.ends[0])
	}
	if tr.ends[1].Err == nil {
		t.Errorf("the failed COPY's trace has no error")
	}
}
