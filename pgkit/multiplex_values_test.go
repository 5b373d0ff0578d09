package pgkit_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/shopdb/shopdb/pgkit"
)

// The multiplexer copies each value once, into slabs its lanes share
// between results (internal/mux/slab.go). These tests hold it to what a
// pooled connection gives: NULL apart from empty, every byte of results
// that fill several slabs or grow one mid-result, and raw values that
// stay as they were while the lane reads other results into the same
// slab.

// muxRaw is every row's raw values of sql, copied.
func muxRaw(t *testing.T, d *pgkit.DB, sql string, args ...any) [][][]byte {
	t.Helper()
	rows, err := d.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][][]byte
	for rows.Next() {
		var row [][]byte
		for _, v := range rows.RawValues() {
			if v == nil {
				row = append(row, nil)
				continue
			}
			row = append(row, append([]byte{}, v...))
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func sameRaw(a, b [][][]byte) error {
	if len(a) != len(b) {
		return fmt.Errorf("%d rows, want %d", len(a), len(b))
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return fmt.Errorf("row %d: %d values, want %d", i, len(a[i]), len(b[i]))
		}
		for j := range a[i] {
			if (a[i][j] == nil) != (b[i][j] == nil) || !bytes.Equal(a[i][j], b[i][j]) {
				return fmt.Errorf("row %d value %d: %q (nil %v), want %q (nil %v)", i, j, a[i][j], a[i][j] == nil, b[i][j], b[i][j] == nil)
			}
		}
	}
	return nil
}

// TestMultiplexRawValuesAsPool: NULLs, empty texts and byteas, and results
// from one row to 20,000 (a result in many slabs; a row bigger than a
// slab; rows of no columns; NULLs and empty values across offset slabs),
// byte for byte as the pool reads them, from callers at once on one lane.
func TestMultiplexRawValuesAsPool(t *testing.T) {
	t.Parallel()
	mx, plain, _ := muxDB(t, 1, 0)
	queries := []struct {
		sql  string
		args []any
	}{
		{"SELECT NULL::text, ''::text, ''::bytea, NULL::int, 'x'::text", nil},
		{"SELECT '', NULL FROM generate_series(1, 300)", nil},
		{"SELECT g, repeat('v', g % 97), CASE WHEN g % 3 = 0 THEN NULL ELSE g::text END FROM generate_series(1, $1::int) g", []any{20000}},
		{"SELECT g, repeat('w', $2::int) FROM generate_series(1, $1::int) g", []any{40, 5000}}, // rows in several slabs
		{"SELECT repeat('z', $1::int), g, '' FROM generate_series(1, 3) g", []any{40000}},      // a row bigger than a slab
		{"SELECT FROM generate_series(1, 2500)", nil},                                          // rows of no columns
		{"SELECT CASE WHEN g % 2 = 0 THEN '' END FROM generate_series(1, 9000) g", nil},        // more values than an offset slab
		{"SELECT 1+1", nil},
	}
	want := make([][][][]byte, len(queries))
	for i, q := range queries {
		want[i] = muxRaw(t, plain, q.sql, q.args...)
	}
	var wg sync.WaitGroup
	for c := range 8 {
		wg.Go(func() {
			for round := range 5 {
				i := (c + round) % len(queries)
				if err := sameRaw(muxRaw(t, mx, queries[i].sql, queries[i].args...), want[i]); err != nil {
					t.Errorf("%s: %v", queries[i].sql, err)
				}
			}
		})
	}
	wg.Wait()
}

// TestMultiplexRawValuesKept: a row's raw values, kept past Next without
// copying while its rows are open, are unchanged after the lane has read
// many more results, each closed, so that their slabs are reused
// (slab.go): a slab holding an open result is not.
func TestMultiplexRawValuesKept(t *testing.T) {
	t.Parallel()
	mx, _, _ := muxDB(t, 1, 0)
	ctx := context.Background()
	rows, err := mx.Query(ctx, "SELECT 'kept-' || g FROM generate_series(1, 3) g")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var kept [][]byte
	check := func(when string) {
		for i, v := range kept {
			if want := fmt.Sprintf("kept-%d", i+1); string(v) != want {
				t.Errorf("%s: row %d kept %q, want %q", when, i+1, v, want)
			}
		}
	}
	for range 2 {
		if !rows.Next() {
			t.Fatal("no row", rows.Err())
		}
		kept = append(kept, rows.RawValues()[0])
		for i := range 2000 {
			var s string
			if err := mx.QueryRow(ctx, "SELECT 'other-' || $1::int || repeat('x', 100)", i).Scan(&s); err != nil {
				t.Fatal(err)
			}
		}
		check("rows open")
	}
	if !rows.Next() {
		t.Fatal("no third row", rows.Err())
	}
	check("third row")
	if rows.Next() {
		t.Fatal("more than 3 rows")
	}
}
