package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/pgkit"
)

// Summary is what Run did, for the caller (and the test) to check.
type Summary struct {
	ServerVersion string
	Ada           db.User   // inserted with UserCreate
	Listed        []db.User // the first page of UserList from Ada on
	// BusyErr is the error of a second query started on one connection while
	// the first one's rows are still open.
	BusyErr error
	// PoolPIDs are the server processes that ran the two queries sent
	// concurrently over the pool: two different connections.
	PoolPIDs [2]int32
	Order    db.Order // committed by the first transaction
	// Violation is the error that rolled back the second transaction, and
	// RolledBackUserID the user it had inserted before failing.
	Violation        *pgconn.PgError
	RolledBackUserID int64
}

// Run walks through the tutorial flow on pool, printing each step to out.
// It only adds rows, so it can run again on the same database.
func Run(ctx context.Context, pool *pgkit.DB, out io.Writer) (*Summary, error) {
	var s Summary
	q := db.New(pool)

	// 1. Connect: the pool is open; ask the server who it is.
	if err := pool.QueryRow(ctx, "SHOW server_version").Scan(&s.ServerVersion); err != nil {
		return nil, fmt.Errorf("server version: %w", err)
	}
	fmt.Fprintf(out, "1. connected to PostgreSQL %s\n", s.ServerVersion)

	// 2. Insert: one row with RETURNING, then several with COPY.
	var err error
	s.Ada, err = q.UserCreate(ctx, db.UserCreateParams{FirstName: "Ada", LastName: "Lovelace"})
	if err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	n, err := q.UserCreateMany(ctx, []db.UserCreateManyParams{
		{FirstName: "Alan", LastName: "Turing"},
		{FirstName: "Grace", LastName: "Hopper"},
		{FirstName: "Edsger", LastName: "Dijkstra"},
	})
	if err != nil {
		return nil, fmt.Errorf("copy users: %w", err)
	}
	fmt.Fprintf(out, "2. inserted user %d (Ada Lovelace), then %d more with COPY\n", s.Ada.UserID, n)

	// 3. Fetch many: a keyset page starting at Ada.
	s.Listed, err = q.UserList(ctx, db.UserListParams{AfterUserID: s.Ada.UserID - 1, Max: 10})
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	fmt.Fprintf(out, "3. listed %d users:\n", len(s.Listed))
	for _, u := range s.Listed {
		fmt.Fprintf(out, "   %d %s %s\n", u.UserID, u.FirstName, u.LastName)
	}

	// 4. Fetch one, with a typed row.
	one, err := q.UserGetByID(ctx, s.Ada.UserID)
	if err != nil {
		return nil, fmt.Errorf("get user: %w", err)
	}
	fmt.Fprintf(out, "4. fetched user %d: %s %s, created %s\n", one.UserID, one.FirstName, one.LastName, one.CreatedAt.Format(time.RFC3339))

	// 5. One connection runs one query at a time (asyncpg: "another
	// operation is in progress"); a pool runs them side by side.
	s.BusyErr, err = secondQueryOnBusyConn(ctx, pool)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "5. two queries on one connection: the second fails: %v\n", s.BusyErr)
	start := time.Now()
	err = pgkit.Gather(ctx, pool, db.New,
		func(ctx context.Context, _ *db.Queries) error {
			return pool.QueryRow(ctx, "SELECT pg_backend_pid() FROM pg_sleep(0.2)").Scan(&s.PoolPIDs[0])
		},
		func(ctx context.Context, _ *db.Queries) error {
			return pool.QueryRow(ctx, "SELECT pg_backend_pid() FROM pg_sleep(0.2)").Scan(&s.PoolPIDs[1])
		},
	)
	if err != nil {
		return nil, fmt.Errorf("gather: %w", err)
	}
	fmt.Fprintf(out, "   the same two 0.2s queries over the pool: both succeed, on server processes %d and %d, in %s\n",
		s.PoolPIDs[0], s.PoolPIDs[1], time.Since(start).Round(time.Millisecond))

	// 6. A transaction that commits: a product, an order and its lines.
	err = pgkit.WithTx(ctx, pool, db.New, func(q *db.Queries) error {
		p, err := q.ProductCreate(ctx, db.ProductCreateParams{
			Sku: fmt.Sprintf("QS-%d", time.Now().UnixNano()), Name: "Analytical Engine", PriceCents: 12_500, Stock: 3,
		})
		if err != nil {
			return fmt.Errorf("create product: %w", err)
		}
		s.Order, err = q.OrderCreate(ctx, db.OrderCreateParams{UserID: s.Ada.UserID, Status: db.OrderStatusPending, TotalCents: 2 * p.PriceCents})
		if err != nil {
			return fmt.Errorf("create order: %w", err)
		}
		var batchErr error
		q.OrderItemCreate(ctx, []db.OrderItemCreateParams{
			{OrderID: s.Order.OrderID, ProductID: p.ProductID, Quantity: 2, UnitPriceCents: p.PriceCents},
		}).Exec(func(_ int, err error) {
			batchErr = errors.Join(batchErr, err)
		})
		if batchErr != nil {
			return fmt.Errorf("create order item: %w", batchErr)
		}
		if _, err := q.ProductAdjustStock(ctx, db.ProductAdjustStockParams{ProductID: p.ProductID, Delta: -2}); err != nil {
			return fmt.Errorf("take stock: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("place order: %w", err)
	}
	fmt.Fprintf(out, "6. transaction committed: order %d for user %d, total %d cents\n", s.Order.OrderID, s.Order.UserID, s.Order.TotalCents)

	// 7. A transaction that fails on a duplicate key rolls back everything,
	// including the row it had inserted before.
	err = pgkit.WithTx(ctx, pool, db.New, func(q *db.Queries) error {
		tmp, err := q.UserCreate(ctx, db.UserCreateParams{FirstName: "Charles", LastName: "Babbage"})
		if err != nil {
			return err
		}
		s.RolledBackUserID = tmp.UserID
		_, err = q.UserCreateWithID(ctx, db.UserCreateWithIDParams{UserID: s.Ada.UserID, FirstName: "Ada", LastName: "Byron"})
		return err
	})
	if !errors.As(err, &s.Violation) {
		return nil, fmt.Errorf("duplicate user_id: want a PostgreSQL error, got %v", err)
	}
	fmt.Fprintf(out, "7. transaction rolled back: %s\n   constraint: %s\n   detail: %s\n",
		s.Violation.Message, s.Violation.ConstraintName, s.Violation.Detail)
	if _, err := q.UserGetByID(ctx, s.RolledBackUserID); !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("user %d inserted in the rolled-back transaction: want no row, got %v", s.RolledBackUserID, err)
	}
	fmt.Fprintf(out, "   user %d, inserted before the failure, is gone with it\n", s.RolledBackUserID)
	return &s, nil
}

// secondQueryOnBusyConn starts a query on one connection and, while its rows
// are still open, starts another on the same connection. It returns the
// second query's error. Both run in this goroutine: pgx connections are not
// safe for concurrent use, so two goroutines would be a data race, not a demo.
func secondQueryOnBusyConn(ctx context.Context, pool *pgkit.DB) (error, error) {
	conn, err := pool.Pool().Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("acquire: %w", err)
	}
	defer conn.Release()
	rows, err := conn.Query(ctx, "SELECT g FROM generate_series(1, 3) AS g")
	if err != nil {
		return nil, fmt.Errorf("first query: %w", err)
	}
	defer rows.Close()
	_, busyErr := conn.Exec(ctx, "SELECT 1")
	if busyErr == nil {
		return nil, errors.New("second query on a busy connection unexpectedly succeeded")
	}
	return busyErr, nil
}
