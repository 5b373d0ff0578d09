package pgkit_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/internal/testshop"
	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// userCount counts users with the given last name.
func userCount(t *testing.T, ctx context.Context, q *db.Queries, lastName string) int {
	t.Helper()
	users := testshop.Must(q.UserList(ctx, db.UserListParams{NamePrefix: lastName, Max: 100}))(t)
	return len(users)
}

func TestWithTxCommits(t *testing.T) {
	ctx, pool, q := testshop.Setup(t)
	err := pgkit.WithTx(ctx, pool, db.New, func(q *db.Queries) error {
		_, err := q.UserCreate(ctx, db.UserCreateParams{FirstName: "T", LastName: "Committed"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := userCount(t, ctx, q, "Committed"); n != 1 {
		t.Fatalf("%d committed users, want 1", n)
	}
}

func TestWithTxRollsBackOnError(t *testing.T) {
	ctx, pool, q := testshop.Setup(t)
	sentinel := errors.New("out of stock")
	err := pgkit.WithTx(ctx, pool, db.New, func(q *db.Queries) error {
		if _, err := q.UserCreate(ctx, db.UserCreateParams{FirstName: "T", LastName: "Gone"}); err != nil {
			return err
		}
		return sentinel
	})
	if !errors.Is(err, sentinel) {
		t.Fatalf("WithTx error = %v, want fn's error", err)
	}
	if n := userCount(t, ctx, q, "Gone"); n != 0 {
		t.Fatalf("%d users left by a rolled-back transaction, want 0", n)
	}
}

func TestWithTxRollsBackOnPanic(t *testing.T) {
	ctx, pool, q := testshop.Setup(t)
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Fatalf("recovered %v, want the panic to continue after rollback", p)
			}
		}()
		_ = pgkit.WithTx(ctx, pool, db.New, func(q *db.Queries) error {
			if _, err := q.UserCreate(ctx, db.UserCreateParams{FirstName: "T", LastName: "Panicked"}); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	if n := userCount(t, ctx, q, "Panicked"); n != 0 {
		t.Fatalf("%d users left by a panicking transaction, want 0", n)
	}
	// dbtest fails the test if the panic leaked the connection.
}

func TestWithTxRollsBackOnCancel(t *testing.T) {
	ctx, pool, q := testshop.Setup(t)
	txCtx, cancel := context.WithCancel(ctx)
	err := pgkit.WithTx(txCtx, pool, db.New, func(q *db.Queries) error {
		_, err := q.UserCreate(txCtx, db.UserCreateParams{FirstName: "T", LastName: "Cancelled"})
		cancel() // the caller gives up before commit
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("WithTx error = %v, want context.Canceled", err)
	}
	if n := userCount(t, ctx, q, "Cancelled"); n != 0 {
		t.Fatalf("%d users left after cancellation, want 0", n)
	}
}

func TestWithTxNestedIsSavepoint(t *testing.T) {
	ctx, pool, q := testshop.Setup(t)
	err := pgx.BeginFunc(ctx, pool, func(outer pgx.Tx) error {
		if _, err := db.New(outer).UserCreate(ctx, db.UserCreateParams{FirstName: "T", LastName: "Outer"}); err != nil {
			return err
		}
		inner := pgkit.WithTx(ctx, outer, db.New, func(q *db.Queries) error {
			if _, err := q.UserCreate(ctx, db.UserCreateParams{FirstName: "T", LastName: "Inner"}); err != nil {
				return err
			}
			return errors.New("undo the inner part only")
		})
		if inner == nil {
			t.Error("inner WithTx returned nil, want its fn's error")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if outer, inner := userCount(t, ctx, q, "Outer"), userCount(t, ctx, q, "Inner"); outer != 1 || inner != 0 {
		t.Fatalf("after a failed savepoint: %d outer and %d inner users, want 1 and 0", outer, inner)
	}
}

func TestWithTxRetriesOnlyOutermost(t *testing.T) {
	ctx, d, _ := testshop.Setup(t)
	fake := &pgconn.PgError{Code: "40001", Message: "could not serialize access"}

	calls, retries := 0, 0
	err := pgkit.WithTxOptions(ctx, d, db.New, pgkit.TxOptions{MaxAttempts: 4, RetryBackoff: time.Millisecond, OnRetry: func(int, error) { retries++ }},
		func(q *db.Queries) error { calls++; return fake })
	if !pgerr.IsSerializationFailure(err) || calls != 4 || retries != 3 {
		t.Fatalf("top level: %d calls, %d retries, error %v; want 4 calls, 3 retries, the serialization failure", calls, retries, err)
	}

	// Inside a transaction nothing is retried; the outer transaction, which
	// gets the error, is what runs again.
	calls = 0
	err = pgkit.WithTxOptions(ctx, d, db.New, pgkit.TxOptions{MaxAttempts: 1}, func(outer *db.Queries) error {
		return outer.RunInTx(ctx, func(db.Store) error { calls++; return fake })
	})
	if !pgerr.IsSerializationFailure(err) || calls != 1 {
		t.Fatalf("nested: %d calls, error %v; want 1 call (no retry inside a transaction)", calls, err)
	}
	calls = 0
	err = pgkit.WithTxOptions(ctx, d, db.New, pgkit.TxOptions{MaxAttempts: 3, RetryBackoff: time.Millisecond}, func(outer *db.Queries) error {
		return outer.RunInTx(ctx, func(db.Store) error { calls++; return fake })
	})
	if calls != 3 {
		t.Fatalf("nested under a retrying outer: %d calls, want 3 (the outer's attempts)", calls)
	}

	calls = 0
	err = pgkit.WithTx(ctx, d, db.New, func(*db.Queries) error { calls++; return errors.New("plain failure") })
	if err == nil || calls != 1 {
		t.Fatalf("non-retryable error: %d calls, want 1", calls)
	}
}

func TestWithTxReadOnly(t *testing.T) {
	ctx, d, _ := testshop.Setup(t)
	err := pgkit.WithTxOptions(ctx, d, db.New, pgkit.TxOptions{ReadOnly: true, IsoLevel: pgx.Serializable, Deferrable: true}, func(q *db.Queries) error {
		_, err := q.UserCreate(ctx, db.UserCreateParams{FirstName: "R", LastName: "O"})
		return err
	})
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "25006" {
		t.Fatalf("write in a read-only transaction: %v, want read_only_sql_transaction (25006)", err)
	}
}

// TestSerializableTransfersRetry moves stock between two products from many
// goroutines at SERIALIZABLE: conflicts are certain, WithTx retries them,
// and the total never changes.
func TestSerializableTransfersRetry(t *testing.T) {
	ctx, d, q := testshop.Setup(t)
	a := testshop.Must(q.ProductCreate(ctx, db.ProductCreateParams{Sku: "A", Name: "A", PriceCents: 1, Stock: 500}))(t)
	b := testshop.Must(q.ProductCreate(ctx, db.ProductCreateParams{Sku: "B", Name: "B", PriceCents: 1, Stock: 500}))(t)

	// First, a conflict for sure: both transactions read, then both write.
	var retries atomic.Int64
	opts := pgkit.TxOptions{IsoLevel: pgx.Serializable, MaxAttempts: 50, OnRetry: func(int, error) { retries.Add(1) }}
	transfer := func(from, to int64, units int32, afterRead func()) error {
		return pgkit.WithTxOptions(ctx, d, db.New, opts, func(q *db.Queries) error {
			src, err := q.ProductGetByID(ctx, from)
			if err != nil {
				return err
			}
			if _, err := q.ProductGetByID(ctx, to); err != nil {
				return err
			}
			afterRead()
			if src.Stock < units {
				return nil
			}
			if _, err := q.ProductAdjustStock(ctx, db.ProductAdjustStockParams{ProductID: from, Delta: -units}); err != nil {
				return err
			}
			_, err = q.ProductAdjustStock(ctx, db.ProductAdjustStockParams{ProductID: to, Delta: units})
			return err
		})
	}
	var bothRead sync.WaitGroup
	bothRead.Add(2)
	meet := func() func() { // on the first attempt only, wait until both have read
		var once sync.Once
		return func() { once.Do(func() { bothRead.Done(); bothRead.Wait() }) }
	}
	var errA, errB error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); errA = transfer(a.ProductID, b.ProductID, 1, meet()) }()
	go func() { defer wg.Done(); errB = transfer(b.ProductID, a.ProductID, 1, meet()) }()
	wg.Wait()
	if errA != nil || errB != nil || retries.Load() < 1 {
		t.Fatalf("forced conflict: errors %v, %v and %d retries; want both to succeed after at least 1 retry", errA, errB, retries.Load())
	}

	// Then many at once.
	const workers, moves = 8, 5
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			var err error
			for i := range moves {
				from, to := a.ProductID, b.ProductID
				if (w+i)%2 == 0 {
					from, to = to, from
				}
				if err = transfer(from, to, int32(1+i%3), func() {}); err != nil {
					break
				}
			}
			errs <- err
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatalf("a transfer failed for good: %v", err)
		}
	}
	ga, gb := testshop.Must(q.ProductGetByID(ctx, a.ProductID))(t), testshop.Must(q.ProductGetByID(ctx, b.ProductID))(t)
	if ga.Stock+gb.Stock != 1000 || ga.Stock < 0 || gb.Stock < 0 {
		t.Fatalf("stock %d + %d = %d, want 1000", ga.Stock, gb.Stock, ga.Stock+gb.Stock)
	}
	t.Logf("serialization retries: %d", retries.Load())
}

func TestStoreRunInTxNests(t *testing.T) {
	ctx, _, q := testshop.Setup(t)
	var store db.Store = q // code written against the interface
	err := store.RunInTx(ctx, func(tx db.Store) error {
		if _, err := tx.UserCreate(ctx, db.UserCreateParams{FirstName: "S", LastName: "Outer"}); err != nil {
			return err
		}
		inner := tx.RunInTx(ctx, func(sp db.Store) error {
			if _, err := sp.UserCreate(ctx, db.UserCreateParams{FirstName: "S", LastName: "Inner"}); err != nil {
				return err
			}
			return errors.New("undo the savepoint")
		})
		if inner == nil {
			return errors.New("inner RunInTx returned nil")
		}
		// Not yet committed: invisible outside.
		if n := userCount(t, ctx, q, "Outer"); n != 0 {
			return errors.New("uncommitted row visible outside the transaction")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if outer, inner := userCount(t, ctx, q, "Outer"), userCount(t, ctx, q, "Inner"); outer != 1 || inner != 0 {
		t.Fatalf("%d outer and %d inner users, want 1 and 0", outer, inner)
	}
}
