package pgkit_test

// Outside look: runtime.Goexit (t.FailNow, t.Fatal in a fn) in fns[0]
// inside WithTx. Pipeline carries fn 0's Goexit on to the caller's
// goroutine, as documented; WithTx's fn then never returns, and WithTx
// rolls back only on a panic (runTx's recover), so the transaction stays
// open on its connection and the connection is never given back to the
// pool: a pool of one is then exhausted for good, with the transaction
// (and any lock it took) left on the server. Found by the randomized
// stress (TestPipelineOutsideStressWithTx with fn 0 ending in Goexit).

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// goexitIn runs body on a goroutine of its own and reports whether it
// ended by Goexit (true) or returned.
func goexitIn(body func()) (goexited bool) {
	done := make(chan bool)
	go func() {
		returned := false
		defer func() { done <- !returned }()
		body()
		returned = true
	}()
	return <-done
}

// acquiredAfter waits up to 3s for d's connections to come back and
// returns how many are still out.
func acquiredAfter(d *pgkit.DB) int32 {
	deadline := time.Now().Add(3 * time.Second)
	for d.Pool().Stat().AcquiredConns() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	return d.Pool().Stat().AcquiredConns()
}

// TestPipelineOutsideGoexitFn0InWithTx: fn 0 reads a row and calls
// runtime.Goexit, inside WithTx. Expected: the transaction rolled back and
// its connection given back (as for a panic). Observed: the connection
// stays acquired, in the transaction, for good.
func TestPipelineOutsideGoexitFn0InWithTx(t *testing.T) {
	ctx := context.Background()
	d := pgkittest.NewWithConfig(t, kitdb.Migrations(), pgkit.Config{MaxConns: 2})
	goexited := goexitIn(func() {
		_ = pgkit.WithTx(ctx, d, osID, func(q pgkit.DBTX) error {
			return pgkit.Pipeline(ctx, q, osID,
				func(ctx context.Context, q pgkit.DBTX) error {
					var n int
					if err := q.QueryRow(ctx, "SELECT 1").Scan(&n); err != nil {
						return err
					}
					runtime.Goexit() // t.FailNow in a test's fn
					return nil
				},
				func(ctx context.Context, q pgkit.DBTX) error {
					_, err := q.Exec(ctx, "SELECT 2")
					return err
				},
			)
		})
	})
	if !goexited {
		t.Fatal("fn 0's Goexit did not end the caller's goroutine (the documented behaviour changed)")
	}
	if n := acquiredAfter(d); n != 0 {
		var idle int
		_ = d.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'").Scan(&idle)
		t.Errorf("after fn 0's Goexit inside WithTx: %d connection(s) never given back to the pool; %d session(s) idle in transaction on the server", n, idle)
	}
}

// TestPipelineOutsideGoexitInWithTxAlone is the same without Pipeline: a
// Goexit in WithTx's own fn (t.Fatal inside WithTx in a test) leaks the
// connection too, so the cause is WithTx's (rollback only on panic), which
// Pipeline's fn 0 reaches by design.
func TestPipelineOutsideGoexitInWithTxAlone(t *testing.T) {
	ctx := context.Background()
	d := pgkittest.NewWithConfig(t, kitdb.Migrations(), pgkit.Config{MaxConns: 2})
	goexitIn(func() {
		_ = pgkit.WithTx(ctx, d, osID, func(q pgkit.DBTX) error {
			if _, err := q.Exec(ctx, "SELECT 1"); err != nil {
				return err
			}
			runtime.Goexit()
			return nil
		})
	})
	if n := acquiredAfter(d); n != 0 {
		t.Errorf("after a Goexit in WithTx's fn: %d connection(s) never given back to the pool (a panic rolls back; a Goexit does not)", n)
	}
}

// TestPipelineOutsideGoexitFn0OnPool: the same Goexit of fn 0 straight on
// the pool gives the connection back (Pipeline's own defer): held up.
func TestPipelineOutsideGoexitFn0OnPool(t *testing.T) {
	ctx := context.Background()
	d := pgkittest.NewWithConfig(t, kitdb.Migrations(), pgkit.Config{MaxConns: 1})
	for range 5 {
		goexitIn(func() {
			_ = pgkit.Pipeline(ctx, d, osID,
				func(ctx context.Context, q pgkit.DBTX) error {
					rows, err := q.Query(ctx, "SELECT g FROM generate_series(1, 10000) g")
					if err != nil {
						return err
					}
					rows.Next()
					runtime.Goexit() // holding the rows
					return nil
				},
				func(ctx context.Context, q pgkit.DBTX) error {
					_, err := q.Exec(ctx, "SELECT 2")
					return err
				},
			)
		})
		if n := acquiredAfter(d); n != 0 {
			t.Fatalf("after fn 0's Goexit on the pool: %d connection(s) still acquired", n)
		}
		checkPool(t, "after fn 0's Goexit on the pool", d.Pool())
	}
}
