package db

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"
)

// Gather runs fns concurrently, each on connections of its own taken from
// pool: Go's answer to asyncio.gather over an asyncpg pool. At most as many
// fns run at once as the pool has connections (MaxConns); the others wait
// their turn. The first error cancels the context of the others (pgx then
// cancels their queries on the server) and is the one returned. A panic in
// a fn is returned as an error instead of crashing the process.
//
// Each fn writes its typed result to a variable it closes over:
//
//	var product Product
//	var reviews []Review
//	err := Gather(ctx, pool,
//		func(ctx context.Context, q *Queries) (err error) { product, err = q.ProductGetByID(ctx, id); return err },
//		func(ctx context.Context, q *Queries) (err error) { reviews, err = q.ReviewListByProduct(ctx, params); return err },
//	)
func Gather(ctx context.Context, pool *pgxpool.Pool, fns ...func(ctx context.Context, q *Queries) error) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(int(pool.Config().MaxConns))
	q := New(pool)
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
