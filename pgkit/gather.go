package pgkit

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"
)

// Gather runs fns concurrently, each with the generated Queries (made by
// newQ, the generated New) on src: Go's answer to asyncio.gather over an
// asyncpg pool. The first error a fn returns cancels the context of the
// others and is the one returned. On a pool made by Open their statements
// are then cancelled on the server, not their connections closed: a
// result that has already arrived is read to its end, one still running
// after 50ms gets a cancel request and fails with SQLSTATE 57014 (the
// context's error attached), and the connection goes back to the pool;
// only a server that does not answer within 2s loses the connection, as
// pgx's default would at once. A panic in a fn is returned as an error
// instead of crashing the process.
//
// On a pool (*DB, *pgxpool.Pool) each fn takes connections of its own, and
// at most as many fns run at once as the pool has connections (MaxConns).
// On a transaction or a single connection, where queries cannot run in
// parallel, Gather is Pipeline: the fns run inside the transaction, their
// queries pipelined on its connection, never on another connection.
//
// Gather on a pool holds up to len(fns) connections for one request;
// Pipeline sends the same queries on one connection in one round trip.
// Gather wins when the queries are slow on the server (they run in
// parallel there), Pipeline when they are quick and the round trip or the
// pool is the limit.
//
// Each fn writes its typed result to a variable it closes over:
//
//	var product db.Product
//	var reviews []db.Review
//	err := pgkit.Gather(ctx, pool, db.New,
//		func(ctx context.Context, q *db.Queries) (err error) { product, err = q.ProductGetByID(ctx, id); return err },
//		func(ctx context.Context, q *db.Queries) (err error) { reviews, err = q.ReviewListByProduct(ctx, params); return err },
//	)
func Gather[D DBTX, Q any](ctx context.Context, src DBTX, newQ func(D) Q, fns ...func(ctx context.Context, q Q) error) error {
	return GatherLimit(ctx, src, newQ, 0, fns...)
}

// GatherLimit is Gather running at most limit fns at once on a pool;
// limit <= 0 means the pool's MaxConns. A lower limit leaves connections
// for other requests.
func GatherLimit[D DBTX, Q any](ctx context.Context, src DBTX, newQ func(D) Q, limit int, fns ...func(ctx context.Context, q Q) error) error {
	var (
		maxConns int32
		pool     Source
	)
	switch p := rawOf(src).(type) {
	case *DB:
		maxConns, pool = p.maxConns, p
		if p.mx != nil {
			// Multiplexed: the fns' statements share connections, so they
			// need not wait for one each.
			maxConns = int32(max(1, len(fns)))
		}
	case *pgxpool.Pool:
		maxConns, pool = p.Config().MaxConns, Wrap(p)
	default:
		return Pipeline(ctx, src, newQ, fns...)
	}
	if limit <= 0 {
		limit = int(maxConns)
	}
	ctx = gently(ctx) // the first error cancels the others' statements, not their connections
	q, err := bind(newQ, pool)
	if err != nil {
		return err
	}
	if limit >= len(fns) {
		return fanOut(ctx, q, fns)
	}
	g, ctx := errgroup.WithContext(ctx)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		mu     sync.Mutex
		exited error // the first fn that ended its goroutine (runtime.Goexit)
	)
	g.SetLimit(limit)
	for i, fn := range fns {
		g.Go(func() error {
			return call(ctx, q, i, fn, func(err error) {
				mu.Lock()
				if exited == nil {
					exited = err
				}
				mu.Unlock()
				cancel(err)
			})
		})
	}
	err = g.Wait()
	mu.Lock()
	defer mu.Unlock()
	if exited != nil && (err == nil || context.Cause(ctx) == exited) {
		return exited // it came first: the others' errors are its cancellation
	}
	return err
}

// call runs fns[i] as fn, returning a panic in it as an error instead of
// crashing the process. A fn that ends its goroutine with runtime.Goexit
// (t.FailNow in a test's fn) returns nothing, and recover does not see
// it: call hands exited its error instead, while the goroutine goes on
// exiting, so that Gather does not count the fn as one that succeeded.
func call[Q any](ctx context.Context, q Q, i int, fn func(ctx context.Context, q Q) error, exited func(error)) (err error) {
	returned := false
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("gather: fn %d panicked: %v\n%s", i, p, debug.Stack())
		} else if !returned {
			exited(fmt.Errorf("gather: fn %d ended its goroutine (runtime.Goexit) without returning", i))
		}
	}()
	err = fn(ctx, q)
	returned = true
	return err
}

// fanOut is GatherLimit without a limit: errgroup's semantics (the first
// error cancels the others' context and is returned; a panic becomes an
// error) with the first fn run on the calling goroutine, so that a page of
// three queries starts two goroutines, not three, and no semaphore.
func fanOut[Q any](ctx context.Context, q Q, fns []func(ctx context.Context, q Q) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		once  sync.Once
		first error
		wg    sync.WaitGroup
	)
	fail := func(err error) { once.Do(func() { first = err; cancel(err) }) }
	run := func(i int) {
		if err := call(ctx, q, i, fns[i], fail); err != nil {
			fail(err)
		}
	}
	for i := 1; i < len(fns); i++ {
		wg.Go(func() { run(i) })
	}
	if len(fns) > 0 {
		returned := false
		defer func() {
			if !returned {
				// fns[0] ended the caller's goroutine (runtime.Goexit): the
				// others are cancelled and waited for before it goes on.
				wg.Wait()
			}
		}()
		run(0)
		returned = true
	}
	wg.Wait()
	return first
}
