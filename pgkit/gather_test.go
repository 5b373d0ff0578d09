package pgkit_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/internal/kittest"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

func TestGatherTypedResults(t *testing.T) {
	ctx, pool, q := setup(t)
	a := kittest.Must(q.AccountCreate(ctx, kitdb.AccountCreateParams{Name: "G", Team: "Gather"}))(t)
	p := kittest.Must(q.ProjectCreate(ctx, kitdb.ProjectCreateParams{Slug: "G", Name: "G", RateCents: 1}))(t)
	kittest.Must(q.NoteCreate(ctx, kitdb.NoteCreateParams{ProjectID: p.ProjectID, AccountID: a.AccountID, Priority: 4}))(t)

	// Each fn waits until the other has started: this only finishes if they
	// really run at the same time.
	var project kitdb.Project
	var notes []kitdb.Note
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
	err := pgkit.Gather(ctx, pool, kitdb.New,
		func(ctx context.Context, q *kitdb.Queries) (err error) {
			close(aStarted)
			if err := wait(ctx, bStarted); err != nil {
				return err
			}
			project, err = q.ProjectGetByID(ctx, p.ProjectID)
			return err
		},
		func(ctx context.Context, q *kitdb.Queries) (err error) {
			close(bStarted)
			if err := wait(ctx, aStarted); err != nil {
				return err
			}
			notes, err = q.NoteListByProject(ctx, kitdb.NoteListByProjectParams{ProjectID: p.ProjectID, Max: 10})
			return err
		},
	)
	if err != nil {
		t.Fatal(err)
	}
	if project.ProjectID != p.ProjectID || len(notes) != 1 || notes[0].Priority != 4 {
		t.Fatalf("got project %+v and notes %+v", project, notes)
	}
}

func TestGatherFirstErrorCancelsServerQuery(t *testing.T) {
	ctx, pool, _ := setup(t)
	sentinel := errors.New("project not found")
	sleeping := make(chan struct{})
	var sleepErr error
	err := pgkit.Gather(ctx, pool, kitdb.New,
		func(ctx context.Context, _ *kitdb.Queries) error {
			close(sleeping)
			_, sleepErr = pool.Exec(ctx, "SELECT pg_sleep(60) /* gather-cancel-test */")
			return sleepErr
		},
		func(ctx context.Context, _ *kitdb.Queries) error {
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
	ctx, pool, _ := setup(t)
	err := pgkit.Gather(ctx, pool, kitdb.New,
		func(ctx context.Context, q *kitdb.Queries) error { return nil },
		func(ctx context.Context, q *kitdb.Queries) error { panic("bad index") },
	)
	if err == nil || !strings.Contains(err.Error(), "fn 1 panicked: bad index") {
		t.Fatalf("Gather error = %v, want the panic as an error", err)
	}
}

func TestGatherBoundedByPool(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgkittest.NewWithConfig(t, kitdb.Migrations(), pgkit.Config{MaxConns: 2})
	var running, peak, done atomic.Int32
	fns := make([]func(context.Context, *kitdb.Queries) error, 8)
	for i := range fns {
		fns[i] = func(ctx context.Context, q *kitdb.Queries) error {
			n := running.Add(1)
			defer running.Add(-1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			_, err := pool.Exec(ctx, "SELECT pg_sleep(0.05)")
			done.Add(1)
			return err
		}
	}
	if err := pgkit.Gather(ctx, pool, kitdb.New, fns...); err != nil {
		t.Fatal(err)
	}
	if done.Load() != 8 || peak.Load() > 2 {
		t.Fatalf("%d of 8 fns ran, at most %d at once; want all 8, at most 2 (MaxConns)", done.Load(), peak.Load())
	}

	// An explicit limit below the pool size.
	peak.Store(0)
	done.Store(0)
	if err := pgkit.GatherLimit(ctx, pool, kitdb.New, 1, fns...); err != nil {
		t.Fatal(err)
	}
	if done.Load() != 8 || peak.Load() != 1 {
		t.Fatalf("GatherLimit 1: %d of 8 fns ran, at most %d at once; want all 8, one at a time", done.Load(), peak.Load())
	}
}
