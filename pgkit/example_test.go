package pgkit_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/internal/testshop"
	"github.com/shopdb/shopdb/pgkit"
)

// Fetch a product and its reviews at the same time, each on a pooled
// connection of its own.
func ExampleGather() {
	d, productID, _, done := testshop.ExampleDB(pgkit.Config{})
	defer done()
	ctx := context.Background()

	var product db.Product
	var reviews []db.Review
	err := pgkit.Gather(ctx, d, db.New,
		func(ctx context.Context, q *db.Queries) (err error) {
			product, err = q.ProductGetByID(ctx, productID)
			return err
		},
		func(ctx context.Context, q *db.Queries) (err error) {
			reviews, err = q.ReviewListByProduct(ctx, db.ReviewListByProductParams{ProductID: productID, Max: 10})
			return err
		},
	)
	fmt.Println(product.Name, len(reviews), err)
	// Output: Difference Engine 2 <nil>
}

// The product page: three queries, one connection, one round trip.
func ExamplePipeline() {
	d, productID, userID, done := testshop.ExampleDB(pgkit.Config{})
	defer done()
	ctx := context.Background()

	var product db.Product
	var reviews []db.Review
	var orders []db.Order
	err := pgkit.Pipeline(ctx, d, db.New,
		func(ctx context.Context, q *db.Queries) (err error) {
			product, err = q.ProductGetByID(ctx, productID)
			return err
		},
		func(ctx context.Context, q *db.Queries) (err error) {
			reviews, err = q.ReviewListByProduct(ctx, db.ReviewListByProductParams{ProductID: productID, Max: 10})
			return err
		},
		func(ctx context.Context, q *db.Queries) (err error) {
			orders, err = q.OrderListByUser(ctx, db.OrderListByUserParams{UserID: userID, Max: 10})
			return err
		},
	)
	fmt.Println(product.Name, len(reviews), len(orders), err)
	// Output: Difference Engine 2 1 <nil>
}

// A serializable read-modify-write; a serialization failure reruns it.
func ExampleWithTxOptions() {
	d, productID, _, done := testshop.ExampleDB(pgkit.Config{})
	defer done()
	ctx := context.Background()

	retries := 0
	opts := pgkit.TxOptions{IsoLevel: pgx.Serializable, OnRetry: func(int, error) { retries++ }}
	err := pgkit.WithTxOptions(ctx, d, db.New, opts, func(q *db.Queries) error {
		p, err := q.ProductGetByID(ctx, productID)
		if err != nil {
			return err
		}
		_, err = q.ProductUpdatePrice(ctx, db.ProductUpdatePriceParams{ProductID: p.ProductID, PriceCents: p.PriceCents * 2})
		return err
	})
	p, _ := db.New(d).ProductGetByID(ctx, productID)
	fmt.Println(p.PriceCents, "retries:", retries, err)
	// Output: 24000 retries: 0 <nil>
}

// Stream a table of any size without holding it in memory: pgkitgen gives
// every :many query a …Stream method.
func Example_stream() {
	d, _, _, done := testshop.ExampleDB(pgkit.Config{})
	defer done()
	ctx := context.Background()

	for u, err := range db.New(d).UserExportStream(ctx, 0) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(u.UserID, u.FirstName, u.LastName)
	}
	// Output:
	// 1 Ada Lovelace
	// 2 Alan Turing
}

// Typed errors over a pool, connection or transaction pgkit did not create.
func ExampleWrap() {
	d, _, _, done := testshop.ExampleDB(pgkit.Config{})
	defer done()
	ctx := context.Background()

	rawTx, _ := d.Pool().Begin(ctx) // plain pgx
	defer rawTx.Rollback(ctx)
	_, err := db.New(rawTx).UserGetByID(ctx, 999)
	fmt.Println(err)
	_, err = db.New(pgkit.Wrap(rawTx)).UserGetByID(ctx, 999)
	fmt.Println(err)
	// Output:
	// no rows in result set
	// UserGetByID: not found
}

// Ad-hoc SQL, streamed into a struct by column position.
func ExampleStream() {
	d, _, _, done := testshop.ExampleDB(pgkit.Config{})
	defer done()

	type square struct{ N, Square int64 }
	for s, err := range pgkit.Stream[square](context.Background(), d, "SELECT g, g*g FROM generate_series(1, 3) g") {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(s.N, s.Square)
	}
	// Output:
	// 1 1
	// 2 4
	// 3 9
}

// Bulk-load from an iterator with the generated …Seq method of a :copyfrom
// query: no slice of every row first.
func ExampleCopyFromSeq() {
	d, _, _, done := testshop.ExampleDB(pgkit.Config{})
	defer done()
	ctx := context.Background()

	users := func(yield func(db.UserCreateManyParams) bool) {
		for i := range 1000 {
			if !yield(db.UserCreateManyParams{FirstName: "Bulk", LastName: fmt.Sprint(i)}) {
				return
			}
		}
	}
	n, err := db.New(d).UserCreateManySeq(ctx, users)
	fmt.Println(n, err)
	// Output: 1000 <nil>
}

// Many goroutines, few connections: with Multiplex, 100 concurrent page
// reads share the pool's connections, their statements pipelined, each in
// a transaction of its own. Session statements are refused.
func ExampleConfig_multiplex() {
	d, productID, _, done := testshop.ExampleDB(pgkit.Config{MaxConns: 4, Multiplex: true})
	defer done()
	ctx := context.Background()
	q := db.New(d)
	before := d.MultiplexStats().Statements

	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 100 {
		wg.Go(func() {
			if _, err := q.ReviewListByProduct(ctx, db.ReviewListByProductParams{ProductID: productID, Max: 10}); err != nil {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	_, err := d.Exec(ctx, "SET statement_timeout = '1s'")
	st := d.MultiplexStats()
	fmt.Println(failed.Load(), st.Statements-before, st.Lanes <= 3, errors.Is(err, pgkit.ErrSessionState))
	// Output: 0 100 true true
}
