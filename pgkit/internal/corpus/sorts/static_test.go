package sorts

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// recorder is a DBTX that records the statements it is given and runs none.
type recorder struct{ sql []string }

var errRecorded = errors.New("recorded")

func (r *recorder) Exec(_ context.Context, sql string, _ ...any) (pgconn.CommandTag, error) {
	r.sql = append(r.sql, sql)
	return pgconn.CommandTag{}, errRecorded
}

func (r *recorder) Query(_ context.Context, sql string, _ ...any) (pgx.Rows, error) {
	r.sql = append(r.sql, sql)
	return nil, errRecorded
}

func (r *recorder) QueryRow(_ context.Context, sql string, _ ...any) pgx.Row {
	r.sql = append(r.sql, sql)
	return errRow{}
}

type errRow struct{}

func (errRow) Scan(...any) error { return errRecorded }

// TestEachOrderIsStatic: every order runs its own constant, the statement
// sqlc checked with the order in place (named by the public query for
// pgkit's errors), and the zero value runs the default's.
func TestEachOrderIsStatic(t *testing.T) {
	for _, tc := range []struct {
		sort      ReviewsSort
		sql, hint string
	}{
		{"", pgkitReviewsSortNewestSQL, "ORDER BY created_at DESC, id DESC"},
		{ReviewsSortNewest, pgkitReviewsSortNewestSQL, "ORDER BY created_at DESC, id DESC"},
		{ReviewsSortHighestRated, pgkitReviewsSortHighestRatedSQL, "ORDER BY rating DESC, created_at DESC, id DESC"},
		{ReviewsSortOldest, pgkitReviewsSortOldestSQL, "ORDER BY created_at, id"},
	} {
		r := &recorder{}
		q := New(r)
		if _, err := q.Reviews(t.Context(), &ReviewsParams{}, tc.sort); !errors.Is(err, errRecorded) {
			t.Fatalf("Reviews(%q): %v", tc.sort, err)
		}
		for range q.ReviewsStream(t.Context(), &ReviewsParams{}, tc.sort) {
		}
		if len(r.sql) != 2 || r.sql[0] != tc.sql || r.sql[1] != tc.sql {
			t.Errorf("sort %q ran %q, want the constant %q twice", tc.sort, r.sql, tc.sql)
		}
		if !strings.HasPrefix(tc.sql, "-- name: Reviews :many") || !strings.Contains(tc.sql, tc.hint+"\nLIMIT $2") {
			t.Errorf("sort %q's statement %q: want it named Reviews and ordered %s", tc.sort, tc.sql, tc.hint)
		}
	}
	r := &recorder{}
	if _, err := New(r).TopReview(t.Context(), 1, TopReviewSortWorst); !errors.Is(err, errRecorded) || len(r.sql) != 1 || r.sql[0] != pgkitTopReviewSortWorstSQL {
		t.Errorf("TopReview worst: %v, ran %q", err, r.sql)
	}
	// An unknown order runs nothing.
	r = &recorder{}
	if _, err := New(r).Reviews(t.Context(), &ReviewsParams{}, "bogus"); err == nil || len(r.sql) != 0 {
		t.Errorf("an unknown sort: %v, ran %q", err, r.sql)
	}
}
