package outside18mux_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/nullptr"
)

// TestGeneratedProfilesKept: nullptr's generated :many and :one (QueryRow)
// results, with []byte bytea and jsonb fields (one bigger than a slab) and
// NULLs, kept after the call, unchanged after churn; as the pool reads them.
func TestGeneratedProfilesKept(t *testing.T) {
	withDecoders(t, func(t *testing.T, mux, plain *pgkit.DB) {
		ctx := context.Background()
		if _, err := plain.Exec(ctx, `INSERT INTO profiles (handle, nickname, age, avatar, prefs, balance, token)
			SELECT 'h' || g, CASE WHEN g % 2 = 0 THEN repeat('n', g) END, g,
			  CASE WHEN g % 3 = 0 THEN NULL WHEN g % 3 = 1 THEN ''::bytea ELSE repeat(chr(65 + g % 26), g * 700)::bytea END,
			  jsonb_build_object('p', repeat('q', g * 300)), g * 0.25, md5(g::text)::uuid
			FROM generate_series(1, 120) g`); err != nil {
			t.Fatal(err)
		}
		want, err := nullptr.New(plain).ListProfiles(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got, err := nullptr.New(mux).ListProfiles(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var one []nullptr.Profile
		for _, id := range []int64{1, 2, 3, 60, 119, 120} {
			p, err := nullptr.New(mux).GetProfile(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			one = append(one, p)
		}
		cmp := func(when string) {
			if !reflect.DeepEqual(got, want) {
				for i := range got {
					if !reflect.DeepEqual(got[i], want[i]) {
						t.Fatalf("%s: ListProfiles row %d: got %.200v, want %.200v", when, i, got[i], want[i])
					}
				}
			}
			for i, p := range one {
				w := want[p.ID-1]
				if !reflect.DeepEqual(p, w) {
					t.Fatalf("%s: GetProfile %d: got %.200v, want %.200v", when, i, p, w)
				}
			}
		}
		cmp("at once")
		churn(t, mux, 3000)
		cmp("after churn")
	})
}

// TestNoColumnsNullsAndUnclosed: rows of no columns, NULL against empty,
// and 2000 results never closed (dropped half read) beside them; then
// garbage collection; the lane still answers and kept values hold.
func TestNoColumnsNullsAndUnclosed(t *testing.T) {
	withDecoders(t, func(t *testing.T, mux, plain *pgkit.DB) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // hang guard
		defer cancel()
		rows, err := mux.Query(ctx, "SELECT FROM generate_series(1, 5000)")
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			if len(rows.RawValues()) != 0 {
				t.Fatalf("row %d: %d raw values", n, len(rows.RawValues()))
			}
			if err := rows.Scan(); err != nil {
				t.Fatal(err)
			}
			n++
		}
		rows.Close()
		if rows.Err() != nil || n != 5000 {
			t.Fatalf("no-column rows: %d, err %v", n, rows.Err())
		}
		var nb, eb []byte
		var ns *string
		if err := mux.QueryRow(ctx, "SELECT NULL::bytea, ''::bytea, NULL::text").Scan(&nb, &eb, &ns); err != nil {
			t.Fatal(err)
		}
		if nb != nil || eb == nil || len(eb) != 0 || ns != nil {
			t.Fatalf("NULL bytea %#v, empty bytea %#v, NULL text %v", nb, eb, ns)
		}
		for i := 0; i < 2000; i++ {
			r, err := mux.Query(ctx, "SELECT g, repeat('u', 5000)::bytea FROM generate_series(1, 20) g")
			if err != nil {
				t.Fatalf("unclosed %d: %v", i, err)
			}
			r.Next()
		}
		runtime.GC()
		runtime.GC()
		churn(t, mux, 500)
		var nb2, eb2 []byte
		if err := mux.QueryRow(ctx, "SELECT NULL::bytea, ''::bytea").Scan(&nb2, &eb2); err != nil {
			t.Fatal(err)
		}
		if nb != nil || eb == nil || len(eb) != 0 || nb2 != nil || eb2 == nil {
			t.Fatalf("after: NULL %#v empty %#v; fresh NULL %#v empty %#v", nb, eb, nb2, eb2)
		}
	})
}

// TestCancelMidResult: a caller reads part of a large result, keeps what
// it scanned, cancels its context and reads on; another query canceled
// while the server still runs it. Kept values hold through churn, the
// lane answers afterwards.
func TestCancelMidResult(t *testing.T) {
	withDecoders(t, func(t *testing.T, mux, plain *pgkit.DB) {
		var kept [][]byte
		for k := 0; k < 20; k++ {
			ctx, cancel := context.WithCancel(context.Background())
			rows, err := mux.Query(ctx, "SELECT g, repeat(chr(65 + g % 26), 3000)::bytea FROM generate_series(1, 2000) g")
			if err != nil {
				cancel()
				t.Fatal(err)
			}
			i := 0
			for rows.Next() {
				var g int
				var b []byte
				if err := rows.Scan(&g, &b); err != nil {
					t.Fatal(err)
				}
				kept = append(kept, b)
				i++
				if i == 10+k {
					cancel()
				}
			}
			err = rows.Err()
			rows.Close()
			cancel()
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Fatalf("round %d: err %v", k, err)
			}
		}
		// canceled while the server runs it
		ctx, cancel := context.WithCancel(context.Background())
		go func() { time.Sleep(300 * time.Millisecond); cancel() }()
		_, err := mux.Query(ctx, "SELECT g, pg_sleep(CASE WHEN g = 3 THEN 30 ELSE 0 END) FROM generate_series(1, 5) g")
		if err == nil {
			t.Log("query canceled in flight returned rows without error (error may come at Next)")
		}
		churn(t, mux, 2000)
		for i, b := range kept {
			g := i % 2000
			_ = g
			if len(b) != 3000 || !bytes.Equal(b, bytes.Repeat(b[:1], 3000)) {
				t.Fatalf("kept %d changed: %q…", i, head(b))
			}
		}
		checkSequence(t, kept)
		var one int
		if err := mux.QueryRow(context.Background(), "SELECT 1").Scan(&one); err != nil || one != 1 {
			t.Fatalf("after cancels: %v %d", err, one)
		}
	})
}

// checkSequence: kept values of each round are rows 1.. in order, so the
// letter of value j of a round is chr(65 + (j+1) % 26).
func checkSequence(t *testing.T, kept [][]byte) {
	t.Helper()
	j := 0
	prev := byte(0)
	for i, b := range kept {
		if b[0] == 'B' && prev != 'A' { // a new round starts at g = 1
			j = 0
		}
		want := byte(65 + (j+1)%26)
		if b[0] != want {
			t.Fatalf("%s", fmt.Sprintf("kept %d: letter %q, want %q", i, b[0], want))
		}
		prev = b[0]
		j++
	}
}
