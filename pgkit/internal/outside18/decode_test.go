package outside18_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/outside18/ptr"
	"github.com/shopdb/shopdb/pgkit/internal/outside18/val"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// thingRows are the rows the differential tests read: all NULL, ordinary,
// the edges of every type (NaN, ±infinity, empty, single bytes, arrays with
// NULL elements, two dimensions, other lower bounds), times at pgx's range
// bounds.
var thingRows = []string{
	`INSERT INTO things DEFAULT VALUES`,
	`INSERT INTO things (i2, i4, i8, f4, f8, b, t, vc, bp, nm, qc, ci, by, ts, tsn, d, u, j, jb, n, m, ip, iv, r, a4, a8, at, ab, af, md, dm, de, o)
	 VALUES (1, 2, 3, 1.5, 2.5, true, 'text', 'varchar', 'ab', 'name', 'q', 'CiText', '\xdeadbeef', '2024-05-06 07:08:09.123456+02', '2024-05-06 07:08:09',
	 '2024-05-06', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"name":"a","n":1}', '{"k": [1, 2]}', 12.5, 3.25, '10.0.0.1', '1 mon 2 days 3 hours', '[1,5)',
	 '{1,2,3}', '{4,5}', '{a,"b c",""}', '{true,false}', '{1.5,-2}', 'happy', 7, 'a@b.c', 42)`,
	`INSERT INTO things (i2, i4, i8, f4, f8, b, t, vc, bp, nm, qc, ci, by, ts, tsn, d, j, jb, n, m, ip, iv, r, a4, a8, at, ab, af, md, dm, de, o)
	 VALUES (-32768, 2147483647, -9223372036854775808, 'NaN', '-Infinity', false, '', 'é', 'a', 'n', 'x', '', '', 'infinity', '-infinity',
	 'infinity', 'null', '[]', 'NaN', -1.5, '::1/128', '-1 days', 'empty', '{}', '{1,NULL}', '{NULL}', '{{true},{false}}', '[0:1]={1.5,2.5}', 'ok', 1, 'x@y', 0)`,
	`INSERT INTO things (t, by, ts, d, a4, at, j, jb) VALUES ('a', '\x00', '294276-12-31 23:59:59.999999+00', '5874897-12-31', '[5:6]={7,8}', '{{a},{b}}', '"s"', '"s"')`,
	`INSERT INTO things (t, ts, d, at, a4) VALUES ('b', '4713-11-24 00:00:00+00 BC', '4713-11-24 BC', '{"x",NULL}', '{{1,2},{3,4}}')`,
	`INSERT INTO things (ts, d) VALUES ('1999-12-31 23:59:59.999999+00', '1999-12-31')`,
	`INSERT INTO things (ts) VALUES ('200000-01-01 00:00:00+00')`,
}

var strictRows = []string{
	`INSERT INTO strict (i4, i8, t, by, ts, u, b, f8, d, a4, at, jb) VALUES (1, 2, 'one', '\x01', '2020-01-01 00:00:00+00', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', true, 0.5, '2020-01-01', '{1}', '{a}', '{}')`,
	`INSERT INTO strict (i4, i8, t, by, ts, u, b, f8, d, a4, at, jb) VALUES (-1, -2, '', '', 'infinity', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', false, 'NaN', '-infinity', '{}', '{}', 'null')`,
}

func seed(t *testing.T, db *pgkit.DB) {
	t.Helper()
	for _, s := range append(append([]string{}, thingRows...), strictRows...) {
		if _, err := db.Exec(context.Background(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// call is one query of either package, its result as a value.
type call struct {
	name string
	run  func(ctx context.Context, x val.DBTX) (any, error)
}

func calls(ids []int64) []call {
	var cs []call
	add := func(name string, run func(ctx context.Context, x val.DBTX) (any, error)) {
		cs = append(cs, call{name, run})
	}
	add("val.ThingList", func(ctx context.Context, x val.DBTX) (any, error) { return val.New(x).ThingList(ctx) })
	add("ptr.ThingList", func(ctx context.Context, x val.DBTX) (any, error) { return ptr.New(x).ThingList(ctx) })
	add("val.ThingTexts", func(ctx context.Context, x val.DBTX) (any, error) { return val.New(x).ThingTexts(ctx) })
	add("ptr.ThingTexts", func(ctx context.Context, x val.DBTX) (any, error) { return ptr.New(x).ThingTexts(ctx) })
	add("val.ThingIDs", func(ctx context.Context, x val.DBTX) (any, error) { return val.New(x).ThingIDs(ctx) })
	add("ptr.Decoders", func(ctx context.Context, x val.DBTX) (any, error) { return ptr.New(x).Decoders(ctx) })
	add("val.StrictList", func(ctx context.Context, x val.DBTX) (any, error) { return val.New(x).StrictList(ctx) })
	add("ptr.StrictList", func(ctx context.Context, x val.DBTX) (any, error) { return ptr.New(x).StrictList(ctx) })
	for _, id := range ids {
		add(fmt.Sprint("val.ThingGet ", id), func(ctx context.Context, x val.DBTX) (any, error) { return val.New(x).ThingGet(ctx, id) })
		add(fmt.Sprint("ptr.ThingGet ", id), func(ctx context.Context, x val.DBTX) (any, error) { return ptr.New(x).ThingGet(ctx, id) })
	}
	for _, id := range []int64{1, 2, 3, 99} {
		add(fmt.Sprint("val.StrictGet ", id), func(ctx context.Context, x val.DBTX) (any, error) { return val.New(x).StrictGet(ctx, id) })
		add(fmt.Sprint("ptr.StrictGet ", id), func(ctx context.Context, x val.DBTX) (any, error) { return ptr.New(x).StrictGet(ctx, id) })
		add(fmt.Sprint("ptr.StrictText ", id), func(ctx context.Context, x val.DBTX) (any, error) { return ptr.New(x).StrictText(ctx, id) })
	}
	return cs
}

// outcome is what a call gave, for comparison.
type outcome struct {
	v   any
	err string
}

func (o outcome) String() string { return fmt.Sprintf("%s / err %q", canon(o.v), o.err) }

// runAll runs every call on x (pool or multiplexed), or each in a
// transaction of x when tx.
func runAll(t *testing.T, x *pgkit.DB, tx bool, cs []call) []outcome {
	t.Helper()
	ctx := context.Background()
	out := make([]outcome, len(cs))
	for i, c := range cs {
		var v any
		var err error
		if tx {
			txErr := pgkit.WithTx(ctx, x, ptr.New, func(q *ptr.Queries) error {
				v, err = c.run(ctx, q.DB())
				return nil
			})
			if txErr != nil {
				t.Fatalf("%s: WithTx: %v (the statement's error: %v)", c.name, txErr, err)
			}
		} else {
			v, err = c.run(ctx, x)
		}
		out[i].v = v
		if err != nil {
			out[i].err = err.Error()
		}
	}
	return out
}

// compare runs cs with and without Config.Decoders (otherwise the same
// cfg and url) and reports every difference.
func compare(t *testing.T, url string, cfg pgkit.Config, cs []call) {
	t.Helper()
	plain := open(t, url, cfg)
	cfg.Decoders = decodersOfBoth()
	dec := open(t, url, cfg)
	for _, tx := range []bool{false, true} {
		want := runAll(t, plain, tx, cs)
		got := runAll(t, dec, tx, cs)
		for i := range cs {
			if got[i].String() != want[i].String() {
				t.Errorf("%s (tx %v): with Decoders\n\t%v\nwithout\n\t%v", cs[i].name, tx, got[i], want[i])
			}
		}
	}
}

// decodersOfBoth are both packages' Decoders: the names are the same in
// both, so each package's DB would take its own; a caller of both
// merges them, and the decoders must then decline the other's types.
func decodersOfBoth() pgkit.Decoders {
	ds := pgkit.Decoders(ptr.Decoders())
	return ds
}

func ids(t *testing.T, db *pgkit.DB) []int64 {
	t.Helper()
	got, err := val.New(db).ThingIDs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// The same results and errors with and without Decoders, on the pool, in
// a Tx, multiplexed, and in every exec mode a DSN can set.
func TestOutside18DecodersSameResults(t *testing.T) {
	url := pgkittest.URL(t, migrations())
	seedDB := open(t, url, pgkit.Config{})
	seed(t, seedDB)
	cs := calls(append(ids(t, seedDB), 999))
	for _, mode := range []struct {
		name, dsn string
		mux       bool
	}{
		{"pool", "", false},
		{"multiplexed", "", true},
		{"simple_protocol", "default_query_exec_mode=simple_protocol", false},
		{"exec", "default_query_exec_mode=exec", false},
		{"describe_exec", "default_query_exec_mode=describe_exec", false},
		{"cache_describe", "default_query_exec_mode=cache_describe", false},
		{"multiplexed describe_exec", "default_query_exec_mode=describe_exec", true},
	} {
		t.Run(mode.name, func(t *testing.T) {
			u := url
			if mode.dsn != "" {
				u += "&" + mode.dsn
			}
			compare(t, u, pgkit.Config{MaxConns: 4, Multiplex: mode.mux}, cs)
		})
	}
}

// The same with the types and codecs a project registers on its
// connections.
func TestOutside18DecodersRegisteredTypes(t *testing.T) {
	url := pgkittest.URL(t, migrations())
	seedDB := open(t, url, pgkit.Config{})
	seed(t, seedDB)
	cs := calls(ids(t, seedDB))
	for _, reg := range []struct {
		name string
		ac   func(ctx context.Context, conn *pgx.Conn) error
	}{
		{"timestamptz in UTC", func(ctx context.Context, conn *pgx.Conn) error {
			conn.TypeMap().RegisterType(&pgtype.Type{Name: "timestamptz", OID: pgtype.TimestamptzOID, Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC}})
			return nil
		}},
		{"json codecs of their own", func(ctx context.Context, conn *pgx.Conn) error {
			un := func(data []byte, v any) error { return json.Unmarshal(data, v) }
			conn.TypeMap().RegisterType(&pgtype.Type{Name: "json", OID: pgtype.JSONOID, Codec: &pgtype.JSONCodec{Marshal: json.Marshal, Unmarshal: un}})
			conn.TypeMap().RegisterType(&pgtype.Type{Name: "jsonb", OID: pgtype.JSONBOID, Codec: &pgtype.JSONBCodec{Marshal: json.Marshal, Unmarshal: un}})
			return nil
		}},
		{"enums, domains, citext loaded", func(ctx context.Context, conn *pgx.Conn) error {
			types, err := conn.LoadTypes(ctx, []string{"mood", "_mood", "pair", "_pair", "posint", "email", "citext"})
			if err != nil {
				return err
			}
			conn.TypeMap().RegisterTypes(types)
			return nil
		}},
		{"text codec over varchar and name", func(ctx context.Context, conn *pgx.Conn) error {
			conn.TypeMap().RegisterType(&pgtype.Type{Name: "varchar", OID: pgtype.VarcharOID, Codec: upperCodec{}})
			conn.TypeMap().RegisterType(&pgtype.Type{Name: "name", OID: pgtype.NameOID, Codec: upperCodec{}})
			return nil
		}},
	} {
		t.Run(reg.name, func(t *testing.T) {
			for _, mux := range []bool{false, true} {
				compare(t, url, pgkit.Config{MaxConns: 4, Multiplex: mux, AfterConnect: reg.ac}, cs)
			}
		})
	}
}

// Claim (README, Config.AfterConnect, Config.Decoders): rows decoded with
// Decoders are what pgx's Scan gives, with the types, codecs "and scan
// wrappers registered" on the connection; a value the decoder would not
// decode exactly as pgx does goes to pgx.
// Observed: pgdecode checks each column's codec (and TimestamptzCodec's
// ScanLocation) but not the type map's TryWrapScanPlanFuncs, through
// which pgx scans a timestamptz into *time.Time (and **T, []T): a project
// that prepends its own wrapper (here: every *time.Time in UTC) gets its
// wrapper's times from pgx and pgdecode's time.Local times with Decoders,
// pooled, in a Tx and multiplexed.
func TestOutside18DecodersIgnoreScanWrappers(t *testing.T) {
	url := pgkittest.URL(t, migrations())
	seedDB := open(t, url, pgkit.Config{})
	seed(t, seedDB)
	cs := calls(ids(t, seedDB))
	ac := func(ctx context.Context, conn *pgx.Conn) error {
		m := conn.TypeMap()
		m.TryWrapScanPlanFuncs = append([]pgtype.TryWrapScanPlanFunc{utcTimes}, m.TryWrapScanPlanFuncs...)
		return nil
	}
	for _, mux := range []bool{false, true} {
		compare(t, url, pgkit.Config{MaxConns: 4, Multiplex: mux, AfterConnect: ac}, cs)
	}
}

// upperCodec is a text codec of a project's own: it scans text upper-cased.
type upperCodec struct{ pgtype.TextCodec }

func (c upperCodec) PlanScan(m *pgtype.Map, oid uint32, format int16, target any) pgtype.ScanPlan {
	if _, ok := target.(*string); ok {
		return upperPlan{}
	}
	return c.TextCodec.PlanScan(m, oid, format, target)
}

type upperPlan struct{}

func (upperPlan) Scan(src []byte, dst any) error {
	if src == nil {
		return fmt.Errorf("cannot scan NULL into *string")
	}
	*dst.(*string) = strings.ToUpper(string(src))
	return nil
}

// utcTimes is a scan wrapper a project registers so that every *time.Time
// it scans is in UTC.
func utcTimes(target any) (pgtype.WrappedScanPlanNextSetter, any, bool) {
	if p, ok := target.(*time.Time); ok {
		return &utcPlan{}, (*utcTime)(p), true
	}
	return nil, nil, false
}

type utcTime time.Time

func (u *utcTime) ScanTimestamptz(v pgtype.Timestamptz) error {
	if !v.Valid {
		return fmt.Errorf("cannot scan NULL into *time.Time")
	}
	if v.InfinityModifier != pgtype.Finite {
		return fmt.Errorf("cannot scan infinity into *time.Time")
	}
	*u = utcTime(v.Time.UTC())
	return nil
}

type utcPlan struct{ next pgtype.ScanPlan }

func (p *utcPlan) SetNext(next pgtype.ScanPlan) { p.next = next }
func (p *utcPlan) Scan(src []byte, dst any) error {
	return p.next.Scan(src, (*utcTime)(dst.(*time.Time)))
}

// canon writes v with pointers followed, NaN as NaN, times with their
// location, slices telling nil from empty: equal texts are equal values.
func canon(v any) string {
	var b strings.Builder
	canonValue(&b, reflect.ValueOf(v))
	return b.String()
}

func canonValue(b *strings.Builder, v reflect.Value) {
	if !v.IsValid() {
		b.WriteString("<invalid>")
		return
	}
	if v.Type() == reflect.TypeOf(time.Time{}) {
		t := v.Interface().(time.Time)
		fmt.Fprintf(b, "time(%s %s)", t.Format(time.RFC3339Nano), t.Location())
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			b.WriteString("nil")
			return
		}
		b.WriteString("&")
		canonValue(b, v.Elem())
	case reflect.Struct:
		fmt.Fprintf(b, "%s{", v.Type())
		for i := range v.NumField() {
			fmt.Fprintf(b, "%s:", v.Type().Field(i).Name)
			if v.Type().Field(i).IsExported() {
				canonValue(b, v.Field(i))
			} else {
				fmt.Fprintf(b, "%v", v.Field(i))
			}
			b.WriteString(" ")
		}
		b.WriteString("}")
	case reflect.Slice:
		if v.IsNil() {
			b.WriteString("nilslice")
			return
		}
		fallthrough
	case reflect.Array:
		b.WriteString("[")
		for i := range v.Len() {
			canonValue(b, v.Index(i))
			b.WriteString(",")
		}
		b.WriteString("]")
	case reflect.Map:
		fmt.Fprintf(b, "%v", v.Interface())
	default:
		fmt.Fprintf(b, "%#v", v.Interface())
	}
}
