package pgkit_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/internal/testshop"
	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
	"github.com/shopdb/shopdb/schema"
)

func TestGatherTypedResults(t *testing.T) {
	ctx, pool, q := testshop.Setup(t)
	u := testshop.Must(q.UserCreate(ctx, db.UserCreateParams{FirstName: "G", LastName: "Gather"}))(t)
	p := testshop.Must(q.ProductCreate(ctx, db.ProductCreateParams{Sku: "G", Name: "G", PriceCents: 1}))(t)
	testshop.Must(q.ReviewCreate(ctx, db.ReviewCreateParams{ProductID: p.ProductID, UserID: u.UserID, Rating: 4}))(t)

	// Each fn waits until the other has started: this only finishes if they
	// really run at the same time.
	var product db.Product
	var reviews []db.Review
	aStarted, bStarted := make(chan struct{}), make(chan struct{})
	wait := func(ctx context.Context, ch chan struct{}) error {
		select {
		case <-ch:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Second):
			return errors.New("the other fn never started: not concurrent")
		}
	}
	err := pgkit.Gather(ctx, pool, db.New,
		func(ctx context.Context, q *db.Queries) (err error) {
			close(aStarted)
			if err := wait(ctx, bStarted); err != nil {
				return err
			}
			product, err = q.ProductGetByID(ctx, p.ProductID)
			return err
		},
		func(ctx context.Context, q *db.Queries) (err error) {
			close(bStarted)
			if err := wait(ctx, aStarted); err != nil {
				return err
			}
			reviews, err = q.ReviewListByProduct(ctx, db.ReviewListByProductParams{ProductID: p.ProductID, Max: 10})
			return err
		},
	)
	if err != nil {
		t.Fatal(err)
	}
	if product.ProductID != p.ProductID || len(reviews) != 1 || reviews[0].Rating != 4 {
		t.Fatalf("got product %+v and reviews %+v", product, reviews)
	}
}

func TestGatherFirstErrorCancelsServerQuery(t *testing.T) {
	ctx, pool, _ := testshop.Setup(t)
	sentinel := errors.New("product not found")
	sleeping := make(chan struct{})
	var sleepErr error
	err := pgkit.Gather(ctx, pool, db.New,
		func(ctx context.Context, _ *db.Queries) error {
			close(sleeping)
			_, sleepErr = pool.Exec(ctx, "SELECT pg_sleep(60) /* gather-cancel-test */")
			return sleepErr
		},
		func(ctx context.Context, _ *db.Queries) error {
			<-sleeping
			// Fail only once the sleep runs on the server.
			for {
				var n int
				if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
					WHERE state = 'active' AND query LIKE '%gather-cancel-test%' AND pid <> pg_backend_pid()`).Scan(&n); err != nil {
					return err
				}
				if n > 0 {
					return sentinel
				}
				time.Sleep(5 * time.Millisecond)
			}
		},
	)
	if !errors.Is(err, sentinel) {
		t.Fatalf("Gather error = %v, want the first error", err)
	}
	if sleepErr == nil {
		t.Fatal("the sleeping query finished without error: it was not cancelled")
	}
	// The server side is gone too, not just the Go side.
	deadline := time.Now().Add(5 * time.Second)
	for {
		var n int
		err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE state = 'active' AND query LIKE '%gather-cancel-test%' AND pid <> pg_backend_pid()`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cancelled pg_sleep still runs on the server after 5s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestGatherPanicIsError(t *testing.T) {
	ctx, pool, _ := testshop.Setup(t)
	err := pgkit.Gather(ctx, pool, db.New,
		func(ctx context.Context, q *db.Queries) error { return nil },
		func(ctx context.Context, q *db.Queries) error { panic("bad index") },
	)
	if err == nil || !strings.Contains(err.Error(), "fn 1 panicked: bad index") {
		t.Fatalf("Gather error = %v, want the panic as an error", err)
	}
}

func TestGatherBoundedByPool(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgkittest.NewWithConfig(t, schema.FS(), pgkit.Config{MaxConns: 2})
	var running, peak, done atomic.Int32
	fns := make([]func(context.Context, *db.Queries) error, 8)
	for i := range fns {
		fns[i] = func(ctx context.Context, q *db.Queries) error {
			n := running.Add(1)
			defer running.Add(-1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			_, err := pool.Exec(ctx, "SELECT pg_sleep(0.05)")
			done.Add(1)
			return err
		}
	}
	if err := pgkit.Gather(ctx, pool, db.New, fns...); err != nil {
		t.Fatal(err)
	}
	if done.Load() != 8 || peak.Load() > 2 {
		t.Fatalf("%d of 8 fns ran, at most %d at once; want all 8, at most 2 (MaxConns)", done.Load(), peak.Load())
	}

	// An explicit limit below the pool size.
	peak.Store(0)
	done.Store(0)
	if err := pgkit.GatherLimit(ctx, pool, db.New, 1, fns...); err != nil {
		t.Fatal(err)
	}
	if done.Load() != 8 || peak.Load() != 1 {
		t.Fatalf("GatherLimit 1: %d of 8 fns ran, at most %d at once; want all 8, one at a time", done.Load(), peak.Load())
	}
}
