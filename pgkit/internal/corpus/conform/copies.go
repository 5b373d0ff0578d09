package conform

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/shopdb/shopdb/pgkit"
)

// Load is one way of COPYing a package's rows into db: sqlc's method
// through pgkit, its Seq, pgx's CopyFromSlice with the rows' own values
// (pointers included, which pgx dereferences by reflection), and so on.
type Load struct {
	Name string
	Run  func(ctx context.Context, db *pgkit.DB) (int64, error)
}

// SameCopies runs each load on db, emptied by reset before each, and
// fails unless every load copies want rows and stores what the first
// stored: the text of each row dump returns, in its order. dump is a
// query of one text column.
func SameCopies(t testing.TB, db *pgkit.DB, reset, dump string, want int64, loads ...Load) {
	t.Helper()
	ctx := t.Context()
	var first []string
	for i, l := range loads {
		if _, err := db.Exec(ctx, reset); err != nil {
			t.Fatalf("reset before %s: %v", l.Name, err)
		}
		n, err := l.Run(ctx, db)
		if err != nil {
			t.Fatalf("%s: %v", l.Name, err)
		}
		if n != want {
			t.Errorf("%s copied %d rows, want %d", l.Name, n, want)
		}
		rows, err := db.Query(ctx, dump)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			got = append(got, s)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = got
			if len(got) == 0 {
				t.Fatalf("%s stored nothing", l.Name)
			}
			continue
		}
		if !slices.Equal(got, first) {
			t.Errorf("%s stored other rows than %s:\n%s", l.Name, loads[0].Name, diff(first, got))
		}
	}
}

// diff lists the rows where a and b differ.
func diff(a, b []string) string {
	var out []string
	for i := range max(len(a), len(b)) {
		var x, y string
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			out = append(out, "  row "+strconv.Itoa(i)+":\n    "+clip(x)+"\n    "+clip(y))
		}
	}
	return strings.Join(out, "\n")
}

// clip shortens a row to what a failure message can show.
func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}
