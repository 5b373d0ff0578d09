package db

import (
	"context"
	"fmt"
	"runtime/debug"

	"golang.org/x/sync/errgroup"
)

// Gather runs fns concurrently, each on connections of its own taken from
// d's pool: Go's answer to asyncio.gather over an asyncpg pool. At most as
// many fns run at once as the pool has connections (MaxConns); the others
// wait their turn. The first error cancels the context of the others (pgx
// then cancels their queries on the server) and is the one returned. A panic
// in a fn is returned as an error instead of crashing the process.
//
// Gather holds up to len(fns) connections for one request; Pipeline sends
// the same queries on one connection in one round trip. Gather wins when the
// queries are slow on the server (they run in parallel there), Pipeline when
// they are quick and the round trip or the pool is the limit.
//
// Each fn writes its typed result to a variable it closes over:
//
//	var product Product
//	var reviews []Review
//	err := Gather(ctx, d,
//		func(ctx context.Context, q *Queries) (err error) { product, err = q.ProductGetByID(ctx, id); return err },
//		func(ctx context.Context, q *Queries) (err error) { reviews, err = q.ReviewListByProduct(ctx, params); return err },
//	)
func Gather(ctx context.Context, d *DB, fns ...func(ctx context.Context, q *Queries) error) error {
	return GatherLimit(ctx, d, 0, fns...)
}

// GatherLimit is Gather running at most limit fns at once; limit <= 0 means
// the pool's MaxConns. A lower limit leaves connections for other requests.
func GatherLimit(ctx context.Context, d *DB, limit int, fns ...func(ctx context.Context, q *Queries) error) error {
	if limit <= 0 {
		limit = int(d.pool.Config().MaxConns)
	}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(limit)
	q := New(d)
	for i, fn := range fns {
		g.Go(func() (err error) {
			defer func() {
				if p := recover(); p != nil {
					err = fmt.Errorf("gather: fn %d panicked: %v\n%s", i, p, debug.Stack())
				}
			}()
			return fn(ctx, q)
		})
	}
	return g.Wait()
}
