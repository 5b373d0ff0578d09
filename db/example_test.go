package db_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/multitracer"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/db/dbtest"
)

// exampleTB lets examples, which get no *testing.T, take a fresh database.
type exampleTB struct {
	testing.TB
	cleanups []func()
}

func (e *exampleTB) Helper()                           {}
func (e *exampleTB) Failed() bool                      { return false }
func (e *exampleTB) Logf(string, ...any)               {}
func (e *exampleTB) Cleanup(f func())                  { e.cleanups = append(e.cleanups, f) }
func (e *exampleTB) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (e *exampleTB) done() {
	for i := len(e.cleanups) - 1; i >= 0; i-- {
		e.cleanups[i]()
	}
}

// exampleDB opens a fresh database with a product, two reviews and a
// customer with an order, and returns the function that drops it.
func exampleDB(cfg db.PoolConfig) (*db.DB, int64, int64, func()) {
	tb := &exampleTB{}
	d, err := db.Open(context.Background(), dbtest.URL(tb), cfg)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	q := db.New(d)
	u, _ := q.UserCreate(ctx, db.UserCreateParams{FirstName: "Ada", LastName: "Lovelace"})
	r, _ := q.UserCreate(ctx, db.UserCreateParams{FirstName: "Alan", LastName: "Turing"})
	p, _ := q.ProductCreate(ctx, db.ProductCreateParams{Sku: "ENG-1", Name: "Difference Engine", PriceCents: 12_000, Stock: 3})
	q.ReviewCreate(ctx, db.ReviewCreateParams{ProductID: p.ProductID, UserID: u.UserID, Rating: 5})
	q.ReviewCreate(ctx, db.ReviewCreateParams{ProductID: p.ProductID, UserID: r.UserID, Rating: 4})
	q.OrderCreate(ctx, db.OrderCreateParams{UserID: u.UserID, Status: db.OrderStatusPaid, TotalCents: 12_000})
	return d, p.ProductID, u.UserID, func() { d.Close(); tb.done() }
}

// Fetch a product and its reviews at the same time, each on a pooled
// connection of its own.
func ExampleGather() {
	d, productID, _, done := exampleDB(db.PoolConfig{})
	defer done()
	ctx := context.Background()

	var product db.Product
	var reviews []db.Review
	err := db.Gather(ctx, d,
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
	d, productID, userID, done := exampleDB(db.PoolConfig{})
	defer done()
	ctx := context.Background()

	var product db.Product
	var reviews []db.Review
	var orders []db.Order
	err := db.Pipeline(ctx, d,
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
	d, productID, _, done := exampleDB(db.PoolConfig{})
	defer done()
	ctx := context.Background()

	retries := 0
	opts := db.TxOptions{IsoLevel: pgx.Serializable, OnRetry: func(int, error) { retries++ }}
	err := db.WithTxOptions(ctx, d, opts, func(q *db.Queries) error {
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

// Typed errors: not found, and constraint violations without row values.
func ExampleConstraintError() {
	d, _, userID, done := exampleDB(db.PoolConfig{})
	defer done()
	ctx := context.Background()
	q := db.New(d)

	_, err := q.UserGetByID(ctx, 999)
	fmt.Println(err, errors.Is(err, db.ErrNotFound))

	_, err = q.UserCreateWithID(ctx, db.UserCreateWithIDParams{UserID: userID, FirstName: "Ada", LastName: "Byron"})
	var ce *db.ConstraintError
	if errors.As(err, &ce) {
		fmt.Println(ce.Kind, ce.Constraint, errors.Is(err, db.ErrUniqueViolation))
		fmt.Println(err)
	}
	// Output:
	// UserGetByID: not found true
	// unique violation users_pkey true
	// UserCreateWithID: unique violation on constraint "users_pkey" of table "users"
}

// Place an order: products locked in id order, stock checked under the lock.
func ExamplePlaceOrder() {
	d, productID, userID, done := exampleDB(db.PoolConfig{})
	defer done()
	ctx := context.Background()

	o, err := db.PlaceOrder(ctx, d, userID, []db.OrderLine{{ProductID: productID, Quantity: 2}}, db.TxOptions{})
	fmt.Println(o.TotalCents, o.Status, err)
	_, err = db.PlaceOrder(ctx, d, userID, []db.OrderLine{{ProductID: productID, Quantity: 2}}, db.TxOptions{})
	fmt.Println(err, errors.Is(err, db.ErrInsufficientStock))
	// Output:
	// 24000 pending <nil>
	// place order: insufficient stock for product 1: 2 requested, 1 available true
}

// A fulfilment worker: claim paid orders nobody else holds, ship them.
func ExampleClaimOrders() {
	d, _, _, done := exampleDB(db.PoolConfig{})
	defer done()
	ctx := context.Background()

	shipped, err := db.ClaimOrders(ctx, d, db.OrderStatusPaid, db.OrderStatusShipped, 10,
		func(ctx context.Context, q *db.Queries, orders []db.Order) error {
			fmt.Println("shipping", len(orders), "order(s)")
			return nil
		})
	fmt.Println(len(shipped), shipped[0].Status, err)
	// Output:
	// shipping 1 order(s)
	// 1 shipped <nil>
}

// Stream a table of any size without holding it in memory.
func ExampleQueries_UserExportStream() {
	d, _, _, done := exampleDB(db.PoolConfig{})
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

// Log queries with slog, next to any other tracer. For OpenTelemetry, add
// github.com/exaring/otelpgx's tracer the same way:
//
//	multitracer.New(db.NewSlogTracer(logger, cfg), otelpgx.NewTracer())
func ExampleNewSlogTracer() {
	var level slog.LevelVar
	level.Set(slog.LevelInfo) // quiet while the example database is filled
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		Level: &level,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr { // keep the output stable
			if a.Key == slog.TimeKey || a.Key == "duration" {
				return slog.Attr{}
			}
			return a
		},
	}))
	tracer := db.NewSlogTracer(logger, db.TraceConfig{})
	d, productID, _, done := exampleDB(db.PoolConfig{Tracer: multitracer.New(tracer)})
	defer done()
	level.Set(slog.LevelDebug)

	_, _ = db.New(d).ProductGetByID(context.Background(), productID)
	// Output: level=DEBUG msg=query query=ProductGetByID rows=1
}
