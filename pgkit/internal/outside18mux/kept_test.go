package outside18mux_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"runtime"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shopdb/shopdb/pgkit"
)

// keptRow is one row scanned into destinations a user keeps.
type keptRow struct {
	G     int64
	B     []byte
	S     string
	J     json.RawMessage
	JB    []byte
	T     pgtype.Text
	N     []byte // NULL bytea
	E     []byte // empty bytea
	NT    pgtype.Text
	Arr   []pgtype.Text
	Uuid  pgtype.UUID
	Num   pgtype.Numeric
	Bytes [][]byte
}

const keptSQL = `SELECT g,
  repeat(chr(65 + g % 26), s)::bytea,
  repeat(chr(97 + g % 26), s),
  json_build_object('g', g, 'v', repeat('j', s / 2)),
  jsonb_build_object('g', g, 'v', repeat('k', s / 3)),
  repeat('t', s / 4),
  NULL::bytea,
  ''::bytea,
  NULL::text,
  ARRAY[repeat('x', s / 5), NULL, '']::text[],
  md5(g::text)::uuid,
  (g * 1.5)::numeric,
  ARRAY[repeat('y', s / 6)::bytea, ''::bytea, NULL]
FROM generate_series(1, $1::int) g, LATERAL (SELECT CASE WHEN g % 9 = 0 THEN 50000 ELSE g * 37 % 5000 END AS s) z`

func scanKept(ctx context.Context, d *pgkit.DB, n int) ([]keptRow, error) {
	rows, err := d.Query(ctx, keptSQL, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []keptRow
	for rows.Next() {
		var r keptRow
		if err := rows.Scan(&r.G, &r.B, &r.S, &r.J, &r.JB, &r.T, &r.N, &r.E, &r.NT, &r.Arr, &r.Uuid, &r.Num, &r.Bytes); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func sameKept(got, want []keptRow) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d rows, want %d", len(got), len(want))
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) {
			gv, wv := reflect.ValueOf(got[i]), reflect.ValueOf(want[i])
			for f := 0; f < gv.NumField(); f++ {
				if !reflect.DeepEqual(gv.Field(f).Interface(), wv.Field(f).Interface()) {
					return fmt.Errorf("row %d field %s: got %.80v, want %.80v", i, gv.Type().Field(f).Name, gv.Field(f).Interface(), wv.Field(f).Interface())
				}
			}
		}
	}
	return nil
}

// TestKeptValuesSurviveChurn: values scanned into []byte, string,
// json.RawMessage, pgtype types and slices, from results of small rows,
// rows bigger than a slab and results over many slabs, kept after Close,
// stay as the pool read them while thousands of multiplexed queries reuse
// the lane's slabs (some never closed, some Exec'd, some QueryRow'd).
func TestKeptValuesSurviveChurn(t *testing.T) {
	withDecoders(t, func(t *testing.T, mux, plain *pgkit.DB) {
		ctx := context.Background()
		want, err := scanKept(ctx, plain, 400)
		if err != nil {
			t.Fatal(err)
		}
		var kept [][]keptRow
		for _, n := range []int{1, 3, 40, 400} {
			got, err := scanKept(ctx, mux, n)
			if err != nil {
				t.Fatal(err)
			}
			if err := sameKept(got, want[:n]); err != nil {
				t.Fatalf("at once, %d rows: %v", n, err)
			}
			kept = append(kept, got)
		}
		churn(t, mux, 3000)
		runtime.GC()
		churn(t, mux, 1000)
		for _, got := range kept {
			if err := sameKept(got, want[:len(got)]); err != nil {
				t.Errorf("after churn, result of %d rows: %v", len(got), err)
			}
		}
		if t.Failed() {
			return
		}
		// and the lane still reads right
		got, err := scanKept(ctx, mux, 400)
		if err != nil {
			t.Fatal(err)
		}
		if err := sameKept(got, want); err != nil {
			t.Fatalf("after churn, fresh: %v", err)
		}
	})
}

// TestConcurrentKeptValues: 64 callers at once each scan and keep results,
// run churn, and find them unchanged.
func TestConcurrentKeptValues(t *testing.T) {
	withDecoders(t, func(t *testing.T, mux, plain *pgkit.DB) {
		ctx := context.Background()
		want, err := scanKept(ctx, plain, 60)
		if err != nil {
			t.Fatal(err)
		}
		type res struct {
			rows []keptRow
			err  error
		}
		out := make(chan res, 64)
		for c := 0; c < 64; c++ {
			go func(c int) {
				var all []keptRow
				for k := 0; k < 5; k++ {
					got, err := scanKept(ctx, mux, 1+(c+k)%60)
					if err != nil {
						out <- res{err: err}
						return
					}
					if err := sameKept(got, want[:len(got)]); err != nil {
						out <- res{err: fmt.Errorf("caller %d at once: %w", c, err)}
						return
					}
					all = append(all, got...)
					if err := oneChurn(ctx, mux, c*5+k); err != nil {
						out <- res{err: err}
						return
					}
				}
				out <- res{rows: all}
			}(c)
		}
		var kept [][]keptRow
		for c := 0; c < 64; c++ {
			r := <-out
			if r.err != nil {
				t.Error(r.err)
				continue
			}
			kept = append(kept, r.rows)
		}
		churn(t, mux, 1000)
		for i, rows := range kept {
			for _, r := range rows {
				if err := sameKept([]keptRow{r}, []keptRow{want[r.G-1]}); err != nil {
					t.Errorf("caller result %d after churn: %v", i, err)
					break
				}
			}
		}
	})
}
