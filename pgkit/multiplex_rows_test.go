package pgkit_test

import (
	"context"
	"errors"
	"testing"

	"github.com/shopdb/shopdb/pgkit"
)

// TestMultiplexRowsWithoutColumns: a result without columns (SELECT FROM
// t) has its rows on a multiplexing DB as on a pool; the multiplexer once
// counted rows by their values, and returned none.
func TestMultiplexRowsWithoutColumns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mx, plain, _ := muxDB(t, 1, 0)
	for name, d := range map[string]*pgkit.DB{"multiplexed": mx, "pool": plain} {
		rows, err := d.Query(ctx, "SELECT FROM generate_series(1, $1::int)", 3)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		n := 0
		for rows.Next() {
			if err := rows.Scan(); err != nil {
				t.Fatalf("%s: Scan: %v", name, err)
			}
			n++
		}
		rows.Close()
		if n != 3 || rows.Err() != nil || rows.CommandTag().String() != "SELECT 3" {
			t.Errorf("%s: %d rows, tag %q, %v; want 3 rows, SELECT 3", name, n, rows.CommandTag(), rows.Err())
		}
		if err := d.QueryRow(ctx, "SELECT FROM generate_series(1, 2)").Scan(); err != nil {
			t.Errorf("%s: QueryRow of rows without columns: %v", name, err)
		}
	}
}

// TestMultiplexRowsStopWhenTheCallerGivesUp: a caller that cancels its
// context while reading a multiplexed result stops at the next row with
// the cancellation, as on a pooled connection, although the rows are in
// memory. Before, it read all 100,000 rows and Err was nil.
func TestMultiplexRowsStopWhenTheCallerGivesUp(t *testing.T) {
	t.Parallel()
	mx, _, _ := muxDB(t, 1, 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rows, err := mx.Query(ctx, "SELECT g FROM generate_series(1, 100000) g")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
		if n == 1000 {
			cancel()
		}
	}
	if n != 1000 || !errors.Is(rows.Err(), context.Canceled) {
		t.Fatalf("read %d rows after cancelling at row 1000, Err %v; want 1000 and context.Canceled", n, rows.Err())
	}
}
