// Package testshop holds the helpers shopdb's own tests share: a migrated
// database per test and small generic shorthands. It is internal: other
// projects use pgkittest directly.
package testshop

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
	"github.com/shopdb/shopdb/schema"
)

// EnvMultiplex, set to 1, makes Setup's pools multiplex
// (pgkit.Config.Multiplex): `make test` runs the query and shop tests once
// more that way, so that every generated method is checked on both paths.
const EnvMultiplex = "SHOPDB_TEST_MULTIPLEX"

// Setup marks t parallel and returns a context bounded to 60s, a pool on a
// fresh migrated database and its Queries.
func Setup(t *testing.T) (context.Context, *pgkit.DB, *db.Queries) {
	t.Helper()
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	pool := pgkittest.NewWithConfig(t, schema.FS(), pgkit.Config{Multiplex: os.Getenv(EnvMultiplex) == "1"})
	if os.Getenv(EnvMultiplex) == "1" && !pool.Multiplexing() {
		t.Fatal("the pool does not multiplex")
	}
	return ctx, pool, db.New(pool)
}

// Must returns a function that returns v, failing the test when err is not
// nil: Must(q.UserCreate(ctx, p))(t).
func Must[T any](v T, err error) func(t testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// Ptr returns a pointer to v, for nullable columns.
func Ptr[T any](v T) *T { return &v }

// Shop makes a product with three reviews and a customer with three
// orders, and returns the product and the customer.
func Shop(t testing.TB, ctx context.Context, q *db.Queries) (db.Product, db.User) {
	t.Helper()
	customer := Must(q.UserCreate(ctx, db.UserCreateParams{FirstName: "P", LastName: "Customer"}))(t)
	p := Must(q.ProductCreate(ctx, db.ProductCreateParams{Sku: "PIPE", Name: "Pipe", PriceCents: 100, Stock: 5}))(t)
	for i := range 3 {
		u := Must(q.UserCreate(ctx, db.UserCreateParams{FirstName: "R", LastName: string(rune('a' + i))}))(t)
		Must(q.ReviewCreate(ctx, db.ReviewCreateParams{ProductID: p.ProductID, UserID: u.UserID, Rating: int16(i + 2)}))(t)
		Must(q.OrderCreate(ctx, db.OrderCreateParams{UserID: customer.UserID, Status: db.OrderStatusPaid, TotalCents: int64(i)}))(t)
	}
	return p, customer
}

// ExampleDB opens a fresh database with a product, two reviews and a
// customer with an order, and returns the function that drops it.
func ExampleDB(cfg pgkit.Config) (*pgkit.DB, int64, int64, func()) {
	tb := &pgkittest.ExampleTB{}
	d, err := pgkit.Open(context.Background(), pgkittest.URL(tb, schema.FS()), cfg)
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
	return d, p.ProductID, u.UserID, func() { d.Close(); tb.Done() }
}

// Exec runs sql on its own connection to dsn, failing t on an error:
// set-up a test does as the owner, beside the code under test.
func Exec(t testing.TB, dsn, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatal(err)
	}
}
