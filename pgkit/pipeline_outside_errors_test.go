package pgkit_test

// Outside look: the errors a fn sees inside Pipeline, compared with the
// same statement outside it.

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// queryAll runs sql with Query and reads it to the end, as a generated
// :many method does, and returns rows.Err().
func queryAll(ctx context.Context, q pgkit.DBTX, sql string) error {
	rows, err := q.Query(ctx, sql)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err()
}

// TestPipelineOutsideServerErrorIsNoCancellationWithQueryTimeout: with
// Config.QueryTimeout set (10s, nowhere near reached), a query that fails
// on the server (22012) inside Pipeline is reported as a cancellation too:
// errors.Is(err, context.Canceled) holds and the message says "context
// canceled". The round's context (bounded by QueryTimeout) is cancelled
// when the round's last result is released, which happens inside the
// fn's final rows.Next(); the fn's rows.Err() then maps the server's error
// with that dead context (pgerr.Map attaches ctx.Err()). Without
// QueryTimeout, and outside Pipeline, the same error is a plain 22012. A
// caller that treats context.Canceled as "the client went away" (no 500,
// no alert, no retry) misfiles a real failure.
func TestPipelineOutsideServerErrorIsNoCancellationWithQueryTimeout(t *testing.T) {
	ctx := context.Background()
	for _, timeout := range []time.Duration{0, 10 * time.Second} {
		d := pgkittest.NewWithConfig(t, kitdb.Migrations(), pgkit.Config{QueryTimeout: timeout})
		const failing = "SELECT 1/(g-3) FROM generate_series(1, 5) g"
		outside := queryAll(ctx, d, failing)
		if pgerr.SQLState(outside) != "22012" || errors.Is(outside, context.Canceled) {
			t.Fatalf("QueryTimeout %v, outside Pipeline: %v", timeout, outside)
		}
		var inside, row, siblingErr error
		pipeErr := pgkit.Pipeline(ctx, d, osID,
			func(ctx context.Context, q pgkit.DBTX) error {
				inside = queryAll(ctx, q, failing)
				return inside
			},
		)
		// QueryRow's Scan of a failing statement, as a :one method does.
		_ = pgkit.Pipeline(ctx, d, osID,
			func(ctx context.Context, q pgkit.DBTX) error {
				_, siblingErr = q.Exec(ctx, "SELECT 1")
				return nil
			},
			func(ctx context.Context, q pgkit.DBTX) error {
				var v int
				row = q.QueryRow(ctx, "SELECT 1/0").Scan(&v)
				return row
			},
		)
		for _, c := range []struct {
			name string
			err  error
		}{{"Query's rows.Err()", inside}, {"Pipeline's error", pipeErr}, {"QueryRow's Scan", row}} {
			if pgerr.SQLState(c.err) != "22012" {
				t.Errorf("QueryTimeout %v: %s inside Pipeline is %v, want 22012", timeout, c.name, c.err)
			}
			if errors.Is(c.err, context.Canceled) || errors.Is(c.err, context.DeadlineExceeded) {
				t.Errorf("QueryTimeout %v: %s inside Pipeline, a division by zero, is a context error too: %q (outside Pipeline: %q)", timeout, c.name, c.err, outside)
			}
		}
		if siblingErr != nil {
			t.Errorf("QueryTimeout %v: the sibling before the failing query: %v", timeout, siblingErr)
		}
	}
}

// TestPipelineOutsideClientScanErrorIsNoCancellationWithQueryTimeout: the
// same for a value that fails to decode in the client (NULL into an int),
// which the doc says is that fn's error only.
func TestPipelineOutsideClientScanErrorIsNoCancellationWithQueryTimeout(t *testing.T) {
	ctx := context.Background()
	d := pgkittest.NewWithConfig(t, kitdb.Migrations(), pgkit.Config{QueryTimeout: 10 * time.Second})
	var scanErr error
	_ = pgkit.Pipeline(ctx, d, osID, func(ctx context.Context, q pgkit.DBTX) error {
		var v int
		scanErr = q.QueryRow(ctx, "SELECT NULL::int").Scan(&v)
		return scanErr
	})
	if scanErr == nil || errors.Is(scanErr, context.Canceled) {
		t.Errorf("a NULL scanned into an int inside Pipeline (QueryTimeout 10s): %q; errors.Is(context.Canceled) = %v, want a scan error only",
			scanErr, errors.Is(scanErr, context.Canceled))
	}
}

// osID is Pipeline's newQ for tests that call the DBTX itself.
var osID = func(d pgkit.DBTX) pgkit.DBTX { return d }
