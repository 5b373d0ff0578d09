package pgkit_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/internal/kittest"
	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// accountCount counts the accounts of the given team.
func accountCount(t *testing.T, ctx context.Context, q *kitdb.Queries, team string) int {
	t.Helper()
	accounts := kittest.Must(q.AccountList(ctx, kitdb.AccountListParams{TeamPrefix: team, Max: 100}))(t)
	return len(accounts)
}

func TestWithTxCommits(t *testing.T) {
	ctx, pool, q := setup(t)
	err := pgkit.WithTx(ctx, pool, kitdb.New, func(q *kitdb.Queries) error {
		_, err := q.AccountCreate(ctx, kitdb.AccountCreateParams{Name: "T", Team: "Committed"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := accountCount(t, ctx, q, "Committed"); n != 1 {
		t.Fatalf("%d committed accounts, want 1", n)
	}
}

func TestWithTxRollsBackOnError(t *testing.T) {
	ctx, pool, q := setup(t)
	sentinel := errors.New("out of credits")
	err := pgkit.WithTx(ctx, pool, kitdb.New, func(q *kitdb.Queries) error {
		if _, err := q.AccountCreate(ctx, kitdb.AccountCreateParams{Name: "T", Team: "Gone"}); err != nil {
			return err
		}
		return sentinel
	})
	if !errors.Is(err, sentinel) {
		t.Fatalf("WithTx error = %v, want fn's error", err)
	}
	if n := accountCount(t, ctx, q, "Gone"); n != 0 {
		t.Fatalf("%d accounts left by a rolled-back transaction, want 0", n)
	}
}

func TestWithTxRollsBackOnPanic(t *testing.T) {
	ctx, pool, q := setup(t)
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Fatalf("recovered %v, want the panic to continue after rollback", p)
			}
		}()
		_ = pgkit.WithTx(ctx, pool, kitdb.New, func(q *kitdb.Queries) error {
			if _, err := q.AccountCreate(ctx, kitdb.AccountCreateParams{Name: "T", Team: "Panicked"}); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	if n := accountCount(t, ctx, q, "Panicked"); n != 0 {
		t.Fatalf("%d accounts left by a panicking transaction, want 0", n)
	}
	// pgkittest fails the test if the panic leaked the connection.
}

func TestWithTxRollsBackOnCancel(t *testing.T) {
	ctx, pool, q := setup(t)
	txCtx, cancel := context.WithCancel(ctx)
	err := pgkit.WithTx(txCtx, pool, kitdb.New, func(q *kitdb.Queries) error {
		_, err := q.AccountCreate(txCtx, kitdb.AccountCreateParams{Name: "T", Team: "Cancelled"})
		cancel() // the caller gives up before commit
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("WithTx error = %v, want context.Canceled", err)
	}
	if n := accountCount(t, ctx, q, "Cancelled"); n != 0 {
		t.Fatalf("%d accounts left after cancellation, want 0", n)
	}
}

func TestWithTxNestedIsSavepoint(t *testing.T) {
	ctx, pool, q := setup(t)
	err := pgx.BeginFunc(ctx, pool, func(outer pgx.Tx) error {
		if _, err := kitdb.New(outer).AccountCreate(ctx, kitdb.AccountCreateParams{Name: "T", Team: "Outer"}); err != nil {
			return err
		}
		inner := pgkit.WithTx(ctx, outer, kitdb.New, func(q *kitdb.Queries) error {
			if _, err := q.AccountCreate(ctx, kitdb.AccountCreateParams{Name: "T", Team: "Inner"}); err != nil {
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
	if outer, inner := accountCount(t, ctx, q, "Outer"), accountCount(t, ctx, q, "Inner"); outer != 1 || inner != 0 {
		t.Fatalf("after a failed savepoint: %d outer and %d inner accounts, want 1 and 0", outer, inner)
	}
}

func TestWithTxRetriesOnlyOutermost(t *testing.T) {
	ctx, d, _ := setup(t)
	fake := &pgconn.PgError{Code: "40001", Message: "could not serialize access"}

	calls, retries := 0, 0
	err := pgkit.WithTxOptions(ctx, d, kitdb.New, pgkit.TxOptions{MaxAttempts: 4, RetryBackoff: time.Millisecond, OnRetry: func(int, error) { retries++ }},
		func(q *kitdb.Queries) error { calls++; return fake })
	if !pgerr.IsSerializationFailure(err) || calls != 4 || retries != 3 {
		t.Fatalf("top level: %d calls, %d retries, error %v; want 4 calls, 3 retries, the serialization failure", calls, retries, err)
	}

	// Inside a transaction nothing is retried; the outer transaction, which
	// gets the error, is what runs again.
	calls = 0
	err = pgkit.WithTxOptions(ctx, d, kitdb.New, pgkit.TxOptions{MaxAttempts: 1}, func(outer *kitdb.Queries) error {
		return outer.RunInTx(ctx, func(kitdb.Store) error { calls++; return fake })
	})
	if !pgerr.IsSerializationFailure(err) || calls != 1 {
		t.Fatalf("nested: %d calls, error %v; want 1 call (no retry inside a transaction)", calls, err)
	}
	calls = 0
	err = pgkit.WithTxOptions(ctx, d, kitdb.New, pgkit.TxOptions{MaxAttempts: 3, RetryBackoff: time.Millisecond}, func(outer *kitdb.Queries) error {
		return outer.RunInTx(ctx, func(kitdb.Store) error { calls++; return fake })
	})
	if calls != 3 {
		t.Fatalf("nested under a retrying outer: %d calls, want 3 (the outer's attempts)", calls)
	}

	calls = 0
	err = pgkit.WithTx(ctx, d, kitdb.New, func(*kitdb.Queries) error { calls++; return errors.New("plain failure") })
	if err == nil || calls != 1 {
		t.Fatalf("non-retryable error: %d calls, want 1", calls)
	}
}

func TestWithTxReadOnly(t *testing.T) {
	ctx, d, _ := setup(t)
	err := pgkit.WithTxOptions(ctx, d, kitdb.New, pgkit.TxOptions{ReadOnly: true, IsoLevel: pgx.Serializable, Deferrable: true}, func(q *kitdb.Queries) error {
		_, err := q.AccountCreate(ctx, kitdb.AccountCreateParams{Name: "R", Team: "O"})
		return err
	})
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "25006" {
		t.Fatalf("write in a read-only transaction: %v, want read_only_sql_transaction (25006)", err)
	}
}

// TestSerializableTransfersRetry moves credits between two projects from many
// goroutines at SERIALIZABLE: conflicts are certain, WithTx retries them,
// and the total never changes.
func TestSerializableTransfersRetry(t *testing.T) {
	ctx, d, q := setup(t)
	a := kittest.Must(q.ProjectCreate(ctx, kitdb.ProjectCreateParams{Slug: "A", Name: "A", RateCents: 1, Credits: 500}))(t)
	b := kittest.Must(q.ProjectCreate(ctx, kitdb.ProjectCreateParams{Slug: "B", Name: "B", RateCents: 1, Credits: 500}))(t)

	// First, a conflict for sure: both transactions read, then both write.
	var retries atomic.Int64
	opts := pgkit.TxOptions{IsoLevel: pgx.Serializable, MaxAttempts: 50, OnRetry: func(int, error) { retries.Add(1) }}
	transfer := func(from, to int64, units int32, afterRead func()) error {
		return pgkit.WithTxOptions(ctx, d, kitdb.New, opts, func(q *kitdb.Queries) error {
			src, err := q.ProjectGetByID(ctx, from)
			if err != nil {
				return err
			}
			if _, err := q.ProjectGetByID(ctx, to); err != nil {
				return err
			}
			afterRead()
			if src.Credits < units {
				return nil
			}
			if _, err := q.ProjectAdjustCredits(ctx, kitdb.ProjectAdjustCreditsParams{ProjectID: from, Delta: -units}); err != nil {
				return err
			}
			_, err = q.ProjectAdjustCredits(ctx, kitdb.ProjectAdjustCreditsParams{ProjectID: to, Delta: units})
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
	go func() { defer wg.Done(); errA = transfer(a.ProjectID, b.ProjectID, 1, meet()) }()
	go func() { defer wg.Done(); errB = transfer(b.ProjectID, a.ProjectID, 1, meet()) }()
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
				from, to := a.ProjectID, b.ProjectID
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
	ga, gb := kittest.Must(q.ProjectGetByID(ctx, a.ProjectID))(t), kittest.Must(q.ProjectGetByID(ctx, b.ProjectID))(t)
	if ga.Credits+gb.Credits != 1000 || ga.Credits < 0 || gb.Credits < 0 {
		t.Fatalf("credits %d + %d = %d, want 1000", ga.Credits, gb.Credits, ga.Credits+gb.Credits)
	}
	t.Logf("serialization retries: %d", retries.Load())
}

func TestStoreRunInTxNests(t *testing.T) {
	ctx, _, q := setup(t)
	var store kitdb.Store = q // code written against the interface
	err := store.RunInTx(ctx, func(tx kitdb.Store) error {
		if _, err := tx.AccountCreate(ctx, kitdb.AccountCreateParams{Name: "S", Team: "Outer"}); err != nil {
			return err
		}
		inner := tx.RunInTx(ctx, func(sp kitdb.Store) error {
			if _, err := sp.AccountCreate(ctx, kitdb.AccountCreateParams{Name: "S", Team: "Inner"}); err != nil {
				return err
			}
			return errors.New("undo the savepoint")
		})
		if inner == nil {
			return errors.New("inner RunInTx returned nil")
		}
		// Not yet committed: invisible outside.
		if n := accountCount(t, ctx, q, "Outer"); n != 0 {
			return errors.New("uncommitted row visible outside the transaction")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if outer, inner := accountCount(t, ctx, q, "Outer"), accountCount(t, ctx, q, "Inner"); outer != 1 || inner != 0 {
		t.Fatalf("%d outer and %d inner accounts, want 1 and 0", outer, inner)
	}
}

// TestWithTxOptionsRefusesNegativeValues: a negative MaxAttempts or
// RetryBackoff is an error naming the field, and fn does not run, as a
// negative Config value is refused by Open (it used to mean the default).
func TestWithTxOptionsRefusesNegativeValues(t *testing.T) {
	ctx, d, _ := setup(t)
	for _, opts := range []pgkit.TxOptions{{MaxAttempts: -3}, {RetryBackoff: -time.Millisecond}} {
		ran := false
		err := pgkit.WithTxOptions(ctx, d, kitdb.New, opts, func(*kitdb.Queries) error { ran = true; return nil })
		field := "MaxAttempts"
		if opts.RetryBackoff < 0 {
			field = "RetryBackoff"
		}
		if err == nil || !strings.Contains(err.Error(), "TxOptions."+field) || ran {
			t.Errorf("%+v: error %v, fn ran %v; want an error naming %s and fn not run", opts, err, ran, field)
		}
	}
}
