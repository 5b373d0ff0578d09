package pgkit_test

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

func ptrTo[T any](v T) *T { return &v }

// argCase is a parameter of one of the pointer types pgkit dereferences,
// and the SQL type it is sent as.
type argCase struct {
	sqlType string
	arg     any
}

// argCases are, for every pointer type pgkit dereferences (and
// *pgtype.UUID, which it hands on as it is: pgx encodes it without
// reflection), a typed nil, a pointer to the zero value and pointers to
// extremes.
func argCases() []argCase {
	var cases []argCase
	add := func(sqlType string, args ...any) {
		for _, a := range args {
			cases = append(cases, argCase{sqlType, a})
		}
	}
	add("text", (*string)(nil), ptrTo(""), ptrTo("é ✓ 'quoted' \\ \t\n"), ptrTo(string(make([]byte, 1<<16))[:0]+"x"))
	add("bool", (*bool)(nil), ptrTo(false), ptrTo(true))
	add("int8", (*int)(nil), ptrTo(0), ptrTo(math.MinInt64), ptrTo(math.MaxInt64))
	add("int2", (*int8)(nil), ptrTo(int8(0)), ptrTo(int8(math.MinInt8)), ptrTo(int8(math.MaxInt8)))
	add("int2", (*int16)(nil), ptrTo(int16(0)), ptrTo(int16(math.MinInt16)), ptrTo(int16(math.MaxInt16)))
	add("int4", (*int32)(nil), ptrTo(int32(0)), ptrTo(int32(math.MinInt32)), ptrTo(int32(math.MaxInt32)))
	add("int8", (*int64)(nil), ptrTo(int64(0)), ptrTo(int64(math.MinInt64)), ptrTo(int64(math.MaxInt64)))
	add("int8", (*uint)(nil), ptrTo(uint(0)), ptrTo(uint(math.MaxInt64)), ptrTo(uint(math.MaxUint64)))
	add("int2", (*uint8)(nil), ptrTo(uint8(0)), ptrTo(uint8(math.MaxUint8)))
	add("int4", (*uint16)(nil), ptrTo(uint16(0)), ptrTo(uint16(math.MaxUint16)))
	add("int8", (*uint32)(nil), ptrTo(uint32(0)), ptrTo(uint32(math.MaxUint32)))
	add("oid", (*uint32)(nil), ptrTo(uint32(0)), ptrTo(uint32(math.MaxUint32)))
	add("int8", (*uint64)(nil), ptrTo(uint64(0)), ptrTo(uint64(math.MaxInt64)), ptrTo(uint64(math.MaxUint64)))
	add("float4", (*float32)(nil), ptrTo(float32(0)), ptrTo(float32(math.Copysign(0, -1))), ptrTo(float32(math.MaxFloat32)), ptrTo(float32(math.SmallestNonzeroFloat32)), ptrTo(float32(math.Inf(-1))), ptrTo(float32(math.NaN())))
	add("float8", (*float64)(nil), ptrTo(0.0), ptrTo(math.Copysign(0, -1)), ptrTo(math.MaxFloat64), ptrTo(math.SmallestNonzeroFloat64), ptrTo(math.Inf(1)), ptrTo(math.NaN()))
	add("bytea", (*[]byte)(nil), ptrTo([]byte(nil)), ptrTo([]byte{}), ptrTo([]byte{0, 1, 0xfe, 0xff}))
	add("timestamptz", (*time.Time)(nil), ptrTo(time.Time{}), ptrTo(time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC)), ptrTo(time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.FixedZone("x", -7*3600))))
	add("timestamp", (*time.Time)(nil), ptrTo(time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC)))
	add("date", (*time.Time)(nil), ptrTo(time.Date(1815, 12, 10, 0, 0, 0, 0, time.UTC)))
	add("inet", (*netip.Addr)(nil), ptrTo(netip.Addr{}), ptrTo(netip.MustParseAddr("10.1.2.3")), ptrTo(netip.MustParseAddr("::ffff:1.2.3.4")), ptrTo(netip.MustParseAddr("fe80::1")))
	add("cidr", (*netip.Prefix)(nil), ptrTo(netip.Prefix{}), ptrTo(netip.MustParsePrefix("10.0.0.0/8")), ptrTo(netip.MustParsePrefix("2001:db8::/32")))
	add("uuid", (*pgtype.UUID)(nil), ptrTo(pgtype.UUID{}), ptrTo(pgtype.UUID{Bytes: [16]byte{0xff, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0xff}, Valid: true}))
	return cases
}

// outcome is what the server made of a parameter: NULL or its text, or
// the statement's failure.
type outcome struct {
	null  bool
	text  string
	error bool
}

func (o outcome) String() string {
	switch {
	case o.error:
		return "an error"
	case o.null:
		return "NULL"
	}
	return fmt.Sprintf("%q", o.text)
}

// querier is what a case runs on: a *pgkit.DB, a pgx pool, a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func paramSQL(sqlType string) string {
	return fmt.Sprintf("SELECT $1::%[1]s IS NULL, coalesce(($1::%[1]s)::text, '')", sqlType)
}

func outcomeOf(ctx context.Context, q querier, sqlType string, args ...any) outcome {
	rows, err := q.Query(ctx, paramSQL(sqlType), args...)
	if err != nil {
		return outcome{error: true}
	}
	var o outcome
	n := 0
	for rows.Next() {
		n++
		if err := rows.Scan(&o.null, &o.text); err != nil {
			rows.Close()
			return outcome{error: true}
		}
	}
	if rows.Err() != nil || n != 1 {
		return outcome{error: true}
	}
	return o
}

// TestDereferencedArgsSameAsPointers: every pointer type pgkit hands pgx
// as its value (a typed nil as NULL, a pointer to the zero value, extremes)
// gives what pgx makes of the pointer itself (the raw pool, which
// dereferences it by reflection): through a pooled and a multiplexed DB,
// a transaction, a batch and a Pipeline, and with the query exec modes
// that encode by the argument's Go type (exec, simple protocol).
func TestDereferencedArgsSameAsPointers(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute) // a hang guard
	defer cancel()
	url := pgkittest.URL(t, kitdb.Migrations())
	open := func(cfg pgkit.Config) *pgkit.DB {
		d, err := pgkit.Open(ctx, url, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(d.Close)
		return d
	}
	pooled := open(pgkit.Config{MaxConns: 4})
	muxed := open(pgkit.Config{MaxConns: 3, Multiplex: true})
	raw := pooled.Pool()
	self := func(d pgkit.DBTX) pgkit.DBTX { return d }

	for i, c := range argCases() {
		name := fmt.Sprintf("case %d: %T as %s", i, c.arg, c.sqlType)
		for _, mode := range []any{nil, pgx.QueryExecModeExec, pgx.QueryExecModeSimpleProtocol} {
			args := []any{c.arg}
			if mode != nil {
				args = []any{mode, c.arg}
			}
			want := outcomeOf(ctx, raw, c.sqlType, args...)
			for via, q := range map[string]querier{"pooled": pooled, "multiplexed": muxed} {
				if got := outcomeOf(ctx, q, c.sqlType, args...); got != want {
					t.Errorf("%s, mode %v, %s: %v; the pointer through pgx: %v", name, mode, via, got, want)
				}
			}
			var got outcome
			err := pgkit.WithTx(ctx, pooled, self, func(d pgkit.DBTX) error {
				got = outcomeOf(ctx, d, c.sqlType, args...)
				return nil
			})
			if (err != nil && !got.error) || got != want {
				t.Errorf("%s, mode %v, transaction: %v (%v); the pointer through pgx: %v", name, mode, got, err, want)
			}
		}
		want := outcomeOf(ctx, raw, c.sqlType, c.arg)
		b := &pgx.Batch{}
		b.Queue(paramSQL(c.sqlType), c.arg)
		var got outcome
		br := pooled.SendBatch(ctx, b)
		if err := br.QueryRow().Scan(&got.null, &got.text); err != nil {
			got = outcome{error: true}
		}
		if err := br.Close(); err != nil && !got.error {
			t.Errorf("%s, batch: %v", name, err)
		}
		if got != want {
			t.Errorf("%s, batch: %v; the pointer through pgx: %v", name, got, want)
		}
		err := pgkit.Pipeline(ctx, pooled, self, func(ctx context.Context, d pgkit.DBTX) error {
			got = outcomeOf(ctx, d, c.sqlType, c.arg)
			return nil
		})
		if (err != nil && !got.error) || got != want {
			t.Errorf("%s, Pipeline: %v (%v); the pointer through pgx: %v", name, got, err, want)
		}
	}
}

// TestDereferencedBatchSameAsPointers: one batch of every case that the
// server accepts, its arguments replaced in one go (cut from shared
// allocations), gives query by query what pgx makes of the pointers.
func TestDereferencedBatchSameAsPointers(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute) // a hang guard
	defer cancel()
	db := pgkittest.New(t, kitdb.Migrations())
	var cases []argCase
	var wants []outcome
	b := &pgx.Batch{}
	for range 50 { // enough queries for more than one shared allocation
		for _, c := range argCases() {
			want := outcomeOf(ctx, db.Pool(), c.sqlType, c.arg)
			if want.error {
				continue // it would abort the rest of the batch
			}
			cases, wants = append(cases, c), append(wants, want)
			b.Queue(paramSQL(c.sqlType), c.arg)
		}
	}
	br := db.SendBatch(ctx, b)
	defer func() {
		if err := br.Close(); err != nil {
			t.Error(err)
		}
	}()
	for i, c := range cases {
		var got outcome
		if err := br.QueryRow().Scan(&got.null, &got.text); err != nil {
			t.Fatalf("query %d (%T as %s): %v", i, c.arg, c.sqlType, err)
		}
		if got != wants[i] {
			t.Errorf("query %d (%T as %s): %v; the pointer through pgx: %v", i, c.arg, c.sqlType, got, wants[i])
		}
	}
}

// TestConcreteArgsAllocations: arguments without pointers are handed on
// as they are, without allocating; with a pointer, one slice is made and
// the caller's is left alone.
func TestConcreteArgsAllocations(t *testing.T) {
	args := []any{int64(1) << 40, "text", []byte("b"), pgtype.Text{String: "t", Valid: true}, nil, time.Time{}}
	if n := testing.AllocsPerRun(100, func() { _ = pgkit.ConcreteArgsForTest(args) }); n != 0 {
		t.Errorf("%v allocations per call without pointers, want 0", n)
	}
	s := "x"
	with := []any{int64(1), &s, (*int64)(nil)}
	got := pgkit.ConcreteArgsForTest(with)
	if got[0] != int64(1) || got[1] != "x" || got[2] != nil {
		t.Errorf("concrete arguments %#v, want [1 \"x\" nil]", got)
	}
	if with[1] != &s || with[2] != (*int64)(nil) {
		t.Errorf("the caller's arguments were changed: %#v", with)
	}
}
