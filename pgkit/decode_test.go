package pgkit_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// decMigrations is an empty schema: the differential queries select
// their parameters.
var decMigrations = fstest.MapFS{"00001_empty.sql": {Data: []byte("-- +goose Up\nSELECT 1;\n")}}

// decCol is a column of the differential query: its SQL type, a random
// argument for it (nil for NULL) and a new destination of the type sqlc
// would scan it into.
type decCol struct {
	sqlType string
	arg     func(r *rand.Rand) any
	dest    func() any
}

// orNull is gen's value, or NULL one time in n.
func orNull(n int, gen func(r *rand.Rand) any) func(r *rand.Rand) any {
	return func(r *rand.Rand) any {
		if r.IntN(n) == 0 {
			return nil
		}
		return gen(r)
	}
}

func pick[T any](r *rand.Rand, vs ...T) T { return vs[r.IntN(len(vs))] }

func randInt2(r *rand.Rand) any {
	return pick(r, int16(0), math.MinInt16, math.MaxInt16, int16(r.Uint32()))
}
func randInt4(r *rand.Rand) any {
	return pick(r, int32(0), math.MinInt32, math.MaxInt32, int32(r.Uint32()))
}
func randInt8(r *rand.Rand) any {
	return pick(r, int64(0), math.MinInt64, math.MaxInt64, int64(r.Uint64()))
}
func randFloat4(r *rand.Rand) any {
	return pick(r, float32(0), float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.Copysign(0, -1)), math.MaxFloat32, r.Float32()*1e6-5e5)
}
func randFloat8(r *rand.Rand) any {
	return pick(r, 0, math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), math.MaxFloat64, math.SmallestNonzeroFloat64, r.NormFloat64()*1e9)
}
func randBool(r *rand.Rand) any { return r.IntN(2) == 0 }
func randText(r *rand.Rand) any {
	return pick(r, "", "x", "héllo wörld ✓", strings.Repeat("long ", 2000), fmt.Sprint(r.Uint64()))
}
func randBytea(r *rand.Rand) any {
	b := make([]byte, pick(r, 0, 1, 16, 5000))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}
func randTime(r *rand.Rand) any {
	return pick(r, time.Unix(0, 0), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Unix(r.Int64N(1<<34)-1<<33, r.Int64N(1e6)*1000))
}
func randTimestamptz(r *rand.Rand) any {
	switch r.IntN(4) {
	case 0:
		return pgtype.Timestamptz{InfinityModifier: pgtype.Infinity, Valid: true}
	case 1:
		return pgtype.Timestamptz{InfinityModifier: pgtype.NegativeInfinity, Valid: true}
	}
	return randTime(r)
}
func randDate(r *rand.Rand) any {
	switch r.IntN(4) {
	case 0:
		return pgtype.Date{InfinityModifier: pgtype.Infinity, Valid: true}
	case 1:
		return pgtype.Date{InfinityModifier: pgtype.NegativeInfinity, Valid: true}
	}
	return pgtype.Date{Time: time.Date(r.IntN(12000)-4000, time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC), Valid: true}
}
func randUUID(r *rand.Rand) any {
	var u [16]byte
	for i := range u {
		u[i] = byte(r.Uint32())
	}
	return pgtype.UUID{Bytes: u, Valid: true}
}
func randJSON(r *rand.Rand) any {
	return []byte(pick(r, `{}`, `null`, `[1, 2.50, "x"]`, `{"b": {"c": [true, null]}, "a": "é\u00e9"}`, `"`+strings.Repeat("j", 3000)+`"`))
}
func randOID(r *rand.Rand) any { return pick(r, uint32(0), math.MaxUint32, r.Uint32()) }

// randArray is an array of n random elements, one of them NULL now and
// then (which no []T destination takes).
func randArray[T any](elem func(r *rand.Rand) any) func(r *rand.Rand) any {
	return func(r *rand.Rand) any {
		out := make([]*T, r.IntN(5))
		for i := range out {
			if r.IntN(20) != 0 {
				v := elem(r).(T)
				out[i] = &v
			}
		}
		return out
	}
}

func newOf[T any]() func() any { return func() any { return new(T) } }

// decCols covers every destination type pgdecode decodes natively (json
// and jsonb arrive in text format), and numeric, decoded through pgx's
// plan.
var decCols = []decCol{
	{"int2", orNull(100, randInt2), newOf[int16]()},
	{"int4", orNull(100, randInt4), newOf[int32]()},
	{"int8", orNull(100, randInt8), newOf[int64]()},
	{"float4", orNull(100, randFloat4), newOf[float32]()},
	{"float8", orNull(100, randFloat8), newOf[float64]()},
	{"bool", orNull(100, randBool), newOf[bool]()},
	{"text", orNull(100, randText), newOf[string]()},
	{"varchar", orNull(100, randText), newOf[string]()},
	{"name", orNull(100, func(r *rand.Rand) any { return pick(r, "", "pg_type", "ü") }), newOf[string]()},
	{"char(3)", orNull(100, func(r *rand.Rand) any { return pick(r, "", "a", "abc") }), newOf[string]()},
	{"bytea", orNull(10, randBytea), newOf[[]byte]()},
	{"timestamptz", orNull(100, randTimestamptz), newOf[time.Time]()},
	{"int2", orNull(3, randInt2), newOf[*int16]()},
	{"int4", orNull(3, randInt4), newOf[*int32]()},
	{"int8", orNull(3, randInt8), newOf[*int64]()},
	{"float4", orNull(3, randFloat4), newOf[*float32]()},
	{"float8", orNull(3, randFloat8), newOf[*float64]()},
	{"bool", orNull(3, randBool), newOf[*bool]()},
	{"text", orNull(3, randText), newOf[*string]()},
	{"timestamptz", orNull(3, randTimestamptz), newOf[*time.Time]()},
	{"int2", orNull(3, randInt2), newOf[pgtype.Int2]()},
	{"int4", orNull(3, randInt4), newOf[pgtype.Int4]()},
	{"int8", orNull(3, randInt8), newOf[pgtype.Int8]()},
	{"float4", orNull(3, randFloat4), newOf[pgtype.Float4]()},
	{"float8", orNull(3, randFloat8), newOf[pgtype.Float8]()},
	{"bool", orNull(3, randBool), newOf[pgtype.Bool]()},
	{"text", orNull(3, randText), newOf[pgtype.Text]()},
	{"oid", orNull(3, randOID), newOf[pgtype.Uint32]()},
	{"uuid", orNull(3, randUUID), newOf[pgtype.UUID]()},
	{"timestamptz", orNull(3, randTimestamptz), newOf[pgtype.Timestamptz]()},
	{"date", orNull(3, randDate), newOf[pgtype.Date]()},
	{"int4[]", orNull(10, randArray[int32](randInt4)), newOf[[]int32]()},
	{"int8[]", orNull(10, randArray[int64](randInt8)), newOf[[]int64]()},
	{"text[]", orNull(10, randArray[string](randText)), newOf[[]string]()},
	{"bool[]", orNull(10, randArray[bool](randBool)), newOf[[]bool]()},
	{"float8[]", orNull(10, randArray[float64](randFloat8)), newOf[[]float64]()},
	{"json", orNull(5, randJSON), newOf[[]byte]()},
	{"jsonb", orNull(5, randJSON), newOf[[]byte]()},
	{"jsonb", orNull(50, randJSON), newOf[string]()},
	{"numeric", orNull(3, func(r *rand.Rand) any { return pick(r, "0", "-1.5", "NaN", "123456789012345678901234567890.12345") }), newOf[pgtype.Numeric]()},
}

// decSQL is the differential query over decCols, rows times.
func decSQL(rows int) string {
	var b strings.Builder
	b.WriteString("-- name: Wide :many\nSELECT ")
	for i, c := range decCols {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d::%s", i+1, c.sqlType)
	}
	fmt.Fprintf(&b, " FROM generate_series(1, %d)", rows)
	return b.String()
}

func decDests() []any {
	out := make([]any, len(decCols))
	for i, c := range decCols {
		out[i] = c.dest()
	}
	return out
}

// decRun runs sql with args on x and scans every row: the rows, the
// first error's text ("" for none), and the columns the decoders decoded
// natively (pgkit.DecodedNatively).
func decRun(ctx context.Context, x pgkit.DBTX, sql string, args []any) ([][]any, string, int) {
	rows, err := x.Query(ctx, sql, args...)
	if err != nil {
		return nil, err.Error(), 0
	}
	defer rows.Close()
	var out [][]any
	native := 0
	for rows.Next() {
		d := decDests()
		err := rows.Scan(d...)
		native = pgkit.DecodedNatively(rows)
		if err != nil {
			return out, err.Error(), native
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return out, err.Error(), native
	}
	return out, "", native
}

// sameRows compares rows as %#v prints them (NaN equal to NaN, pointers
// by what they point at).
func sameRows(a, b [][]any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		for j := range a[i] {
			if !reflect.DeepEqual(a[i][j], b[i][j]) && show(a[i][j]) != show(b[i][j]) {
				return false
			}
		}
	}
	return true
}

func show(x any) string {
	v := reflect.ValueOf(x).Elem()
	if v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	return fmt.Sprintf("%T %#v", x, v.Interface())
}

func wideDecoders() pgkit.Decoders {
	return pgkit.Decoders{"Wide": decDests()}
}

// TestDecodersDifferential runs one query of every destination type
// pgdecode decodes, over random values, NULLs and extremes, on a DB
// without decoders and on one with, pooled, in a transaction and
// multiplexed: the rows, and the errors (NULL into a non-pointer, an array
// with a NULL element), must be the same.
func TestDecodersDifferential(t *testing.T) {
	ctx := t.Context()
	plain := pgkittest.NewWithConfig(t, decMigrations, pgkit.Config{MaxConns: 2})
	dec := pgkittest.NewWithConfig(t, decMigrations, pgkit.Config{MaxConns: 2, Decoders: wideDecoders()})
	mux := pgkittest.NewWithConfig(t, decMigrations, pgkit.Config{MaxConns: 2, Multiplex: true, Decoders: wideDecoders()})
	tx, err := dec.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	r := rand.New(rand.NewPCG(18, 3))
	errs := 0
	for iter := range 300 {
		args := make([]any, len(decCols))
		for i, c := range decCols {
			args[i] = c.arg(r)
		}
		sql := decSQL(1 + iter%3)
		want, wantErr, _ := decRun(ctx, plain, sql, args)
		for _, on := range []struct {
			name string
			x    pgkit.DBTX
		}{{"pool", dec}, {"tx", tx.(pgkit.DBTX)}, {"multiplex", mux}} {
			got, gotErr, native := decRun(ctx, on.x, sql, args)
			// All but numeric (pgx's plan).
			if want := len(decCols) - 1; native != want {
				t.Fatalf("%s, iteration %d: %d columns decoded natively, want %d", on.name, iter, native, want)
			}
			if gotErr != wantErr {
				t.Fatalf("%s, iteration %d: error %q, without decoders %q", on.name, iter, gotErr, wantErr)
			}
			if !sameRows(got, want) {
				t.Fatalf("%s, iteration %d: rows differ:\n%v\nwithout decoders:\n%v", on.name, iter, rowsText(got), rowsText(want))
			}
		}
		if wantErr != "" {
			errs++
		}
	}
	if errs == 0 || errs == 300 {
		t.Fatalf("%d of 300 iterations failed: the values exercise only one path", errs)
	}
}

func rowsText(rows [][]any) string {
	var b strings.Builder
	for _, r := range rows {
		for _, v := range r {
			b.WriteString(show(v) + "; ")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// TestDecodersUsed checks that the decoder, not pgx, decodes a query it
// is given for: the strings of a row share one allocation, where pgx
// makes one per column (a count of allocations, not a timing).
func TestDecodersUsed(t *testing.T) {
	ctx := t.Context()
	const sql = "-- name: Texts :many\nSELECT 'aa'::text, 'bb'::text, 'ccc'::text, 'dddd'::text"
	var a, b, c, d string
	decs := pgkit.Decoders{"Texts": {&a, &b, &c, &d}}
	allocs := func(cfg pgkit.Config) float64 {
		db := pgkittest.NewWithConfig(t, decMigrations, cfg)
		rows, err := db.Query(ctx, sql)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		if !rows.Next() {
			t.Fatal(rows.Err())
		}
		n := testing.AllocsPerRun(50, func() {
			if err := rows.Scan(&a, &b, &c, &d); err != nil {
				t.Fatal(err)
			}
		})
		if a != "aa" || b != "bb" || c != "ccc" || d != "dddd" {
			t.Fatalf("scanned %q %q %q %q", a, b, c, d)
		}
		return n
	}
	with, without := allocs(pgkit.Config{MaxConns: 1, Decoders: decs}), allocs(pgkit.Config{MaxConns: 1})
	// Both allocate Scan's variadic slice; pgx a string per column besides.
	if with+3 > without {
		t.Fatalf("allocations per Scan: %v with the decoder, %v without: want 3 fewer (one for 4 strings)", with, without)
	}
}

// TestDecodersFallBack checks the two ways a decoder steps aside: the
// result's column is not of the type it was generated for (the schema
// changed), and Scan is given other destinations than generated. pgx
// scans instead, correctly.
func TestDecodersFallBack(t *testing.T) {
	ctx := t.Context()
	var n int32
	var s string
	db := pgkittest.NewWithConfig(t, decMigrations, pgkit.Config{MaxConns: 1, Decoders: pgkit.Decoders{
		"Changed": {&n, &s}, // generated for int4, text
		"Other":   {&n, &s},
	}})
	// The column is int8 now: pgx scans it into the *int32 (in range).
	if err := db.QueryRow(ctx, "-- name: Changed :one\nSELECT 42::int8, 'x'::text").Scan(&n, &s); err != nil || n != 42 || s != "x" {
		t.Fatalf("changed column type: %v, %d %q", err, n, s)
	}
	// Out of range for int32: pgx's error, as without the decoder.
	err := db.QueryRow(ctx, "-- name: Changed :one\nSELECT 5000000000::int8, 'x'::text").Scan(&n, &s)
	if err == nil || !strings.Contains(err.Error(), "can't scan into dest[0]") {
		t.Fatalf("out-of-range int8 into *int32: %v, want pgx's scan error", err)
	}
	// Other destinations: *int64 and *[]byte, which the decoder declines.
	var big int64
	var raw []byte
	if err := db.QueryRow(ctx, "-- name: Other :one\nSELECT 7::int4, 'y'::text").Scan(&big, &raw); err != nil || big != 7 || string(raw) != "y" {
		t.Fatalf("other destinations: %v, %d %q", err, big, raw)
	}
	// NULL into a non-pointer: pgx's error naming the column.
	err = db.QueryRow(ctx, "-- name: Other :one\nSELECT NULL::int4 AS qty, 'y'::text").Scan(&n, &s)
	if err == nil || !strings.Contains(err.Error(), `can't scan into dest[0] (col: qty)`) || !strings.Contains(err.Error(), "cannot scan NULL into *int32") {
		t.Fatalf("NULL into *int32: %v, want pgx's error naming the column", err)
	}
}

// TestDecodersUsedInPipeline: Pipeline's rows are decoded by the decoder
// too (counted as in TestDecodersUsed), on the DB and in a transaction;
// and a value the decoder declines (NULL into a non-pointer) is still
// pgx's error naming the column, the fn's own.
func TestDecodersUsedInPipeline(t *testing.T) {
	ctx := t.Context()
	const sql = "-- name: Texts :many\nSELECT 'aa'::text, 'bb'::text, 'ccc'::text, 'dddd'::text"
	var a, b, c, d string
	var n int32
	decs := pgkit.Decoders{"Texts": {&a, &b, &c, &d}, "Num": {&n}}
	self := func(d pgkit.DBTX) pgkit.DBTX { return d }
	allocs := func(src pgkit.DBTX) (per float64) {
		err := pgkit.Pipeline(ctx, src, self, func(ctx context.Context, q pgkit.DBTX) error {
			rows, err := q.Query(ctx, sql)
			if err != nil {
				return err
			}
			defer rows.Close()
			if !rows.Next() {
				return fmt.Errorf("no row: %v", rows.Err())
			}
			var scanErr error
			per = testing.AllocsPerRun(50, func() {
				if err := rows.Scan(&a, &b, &c, &d); err != nil && scanErr == nil {
					scanErr = err
				}
			})
			if scanErr == nil && (a != "aa" || b != "bb" || c != "ccc" || d != "dddd") {
				scanErr = fmt.Errorf("scanned %q %q %q %q", a, b, c, d)
			}
			return scanErr
		})
		if err != nil {
			t.Fatal(err)
		}
		return per
	}
	with := pgkittest.NewWithConfig(t, decMigrations, pgkit.Config{MaxConns: 2, Decoders: decs})
	without := pgkittest.NewWithConfig(t, decMigrations, pgkit.Config{MaxConns: 2})
	tx, err := with.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	base := allocs(without)
	for name, src := range map[string]pgkit.DBTX{"DB": with, "Tx": tx} {
		// Both allocate Scan's variadic slice; pgx a string per column besides.
		if got := allocs(src); got+3 > base {
			t.Errorf("Pipeline on the %s: allocations per Scan %v with the decoder, %v without: want 3 fewer", name, got, base)
		}
	}
	err = pgkit.Pipeline(ctx, with, self, func(ctx context.Context, q pgkit.DBTX) error {
		return q.QueryRow(ctx, "-- name: Num :one\nSELECT NULL::int4 AS qty").Scan(&n)
	})
	if err == nil || !strings.Contains(err.Error(), `can't scan into dest[0] (col: qty)`) || !strings.Contains(err.Error(), "cannot scan NULL into *int32") {
		t.Fatalf("NULL into *int32 in a Pipeline: %v, want pgx's error naming the column", err)
	}
}
