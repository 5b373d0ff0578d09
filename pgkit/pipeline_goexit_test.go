package pgkit_test

import (
	"context"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// TestPipelineFnGoexit: a fn that ends with runtime.Goexit (what t.FailNow
// does in a test's fn) leaves no sibling on a connection gone back to the
// pool. Fn 0 runs on the caller's goroutine, so its Goexit ends that
// goroutine: before it does, the sibling reads its 20,000 rows to the end
// (or is cancelled) and the connection is released; a later fn's Goexit
// is Pipeline's error (it was nil, as if the fn had succeeded).
func TestPipelineFnGoexit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := pgkittest.NewWithConfig(t, kitdb.Migrations(), pgkit.Config{MaxConns: 1})
	const jobs = 20_000
	a := longHistory(t, ctx, d, jobs)
	for _, exiting := range []int{0, 1} {
		var siblingDone atomic.Bool
		var pipeErr error
		returned := false
		exited := make(chan struct{})
		exit := func(ctx context.Context, q *kitdb.Queries) error {
			if _, err := q.AccountGetByID(ctx, a.AccountID); err != nil {
				return err
			}
			runtime.Goexit()
			return nil
		}
		sibling := func(ctx context.Context, q *kitdb.Queries) error {
			defer siblingDone.Store(true)
			rows, err := q.DB().Query(ctx, "SELECT job_id, cost_cents FROM jobs WHERE account_id = $1", a.AccountID)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
			}
			return rows.Err()
		}
		fns := []func(context.Context, *kitdb.Queries) error{exit, sibling}
		if exiting == 1 {
			fns = []func(context.Context, *kitdb.Queries) error{sibling, exit}
		}
		go func() {
			defer close(exited)
			pipeErr = pgkit.Pipeline(ctx, d, kitdb.New, fns...)
			returned = true
		}()
		<-exited
		if !siblingDone.Load() {
			t.Fatalf("fn %d's Goexit: the caller's goroutine ended before the sibling fn returned", exiting)
		}
		if returned && (pipeErr == nil || !strings.Contains(pipeErr.Error(), "Goexit")) {
			t.Fatalf("fn %d's Goexit: Pipeline returned %v, want an error naming the Goexit", exiting, pipeErr)
		}
		if exiting == 1 && !returned {
			t.Fatal("fn 1's Goexit ended the caller's goroutine")
		}
		if n := d.Pool().Stat().AcquiredConns(); n != 0 {
			t.Fatalf("fn %d's Goexit: %d connections still acquired", exiting, n)
		}
		var count int
		if err := d.QueryRow(ctx, "SELECT count(*) FROM jobs WHERE account_id = $1", a.AccountID).Scan(&count); err != nil || count != jobs {
			t.Fatalf("fn %d's Goexit: the pool's connection afterwards: %d, %v", exiting, count, err)
		}
	}
}
