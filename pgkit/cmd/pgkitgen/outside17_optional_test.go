package main

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/pgkit/pgtemp"
)

// outside17Conn connects to DATABASE_URL, or to a throwaway server.
func outside17Conn(t *testing.T) *pgx.Conn {
	t.Helper()
	if testing.Short() {
		t.Skip("needs PostgreSQL")
	}
	ctx := context.Background()
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		s, err := pgtemp.Start(ctx, pgtemp.Config{})
		if err != nil {
			t.Skipf("no PostgreSQL: %v", err)
		}
		t.Cleanup(func() { _ = s.Stop() })
		url = s.URL()
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(ctx) })
	return conn
}

// TestOutside17OptionalUnderNot: README: an optional filter's parameter
// is a pointer, "nil: every user"; "every AND/OR term that mentions the
// parameter becomes (x IS NULL OR …)". A nil x must therefore give the
// rows of the query without that term. NOT id = @x is right (the NOT is
// inside the wrapped term), but NOT (id = @x) is wrapped inside the
// parentheses: NOT ((x IS NULL OR id = x)) is NOT true when x is nil, and
// the "optional" exclusion returns no row at all. Expand must refuse it or
// put the NULL test outside the NOT; it silently writes SQL that filters
// everything out.
func TestOutside17OptionalUnderNot(t *testing.T) {
	conn := outside17Conn(t)
	ctx := context.Background()
	if _, err := conn.Exec(ctx, `CREATE TEMP TABLE t (id bigint, k int); INSERT INTO t VALUES (1, 1), (2, 2), (3, 3)`); err != nil {
		t.Fatal(err)
	}
	narg := regexp.MustCompile(`sqlc\.narg\('x'\)`)
	for _, c := range []struct {
		where string
		want  int // rows with x nil: those of the query without the term
	}{
		{"k > 0 AND NOT id = @x::bigint", 3},   // holds
		{"k > 0 AND NOT (id = @x::bigint)", 3}, // k > 0
		{"NOT (id = @x::bigint OR k = 1)", 2},  // NOT (k = 1)
	} {
		where := c.where
		t.Run(where, func(t *testing.T) {
			out, err := expandOne(t, "-- name: A :many\n-- pgkit:optional x\nSELECT id FROM t WHERE "+where+";\n")
			if err != nil {
				t.Logf("refused: %v", err) // a clear refusal is fine
				return
			}
			body := out[strings.Index(out, "SELECT"):]
			sql := narg.ReplaceAllLiteralString(strings.TrimSuffix(strings.TrimSpace(body), ";"), "$1")
			rows, err := conn.Query(ctx, sql, nil)
			if err != nil {
				t.Fatalf("%s: %v", sql, err)
			}
			ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
			if err != nil {
				t.Fatal(err)
			}
			if len(ids) != c.want {
				t.Errorf("expanded to\n%s\nwith x nil it returns ids %v, want %d rows (the query without the term): the optional filter is not off", body, ids, c.want)
			}
		})
	}
}
