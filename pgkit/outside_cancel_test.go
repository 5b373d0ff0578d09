package pgkit_test

// An outside look at issue 15: the caller's context ends while COMMIT is
// waiting for the synchronous standby, as it does when the standby is
// slow or gone (with pg_auto_failover, until the monitor lets the primary
// go on alone). PostgreSQL has committed the transaction locally by then:
// a cancel of that wait only ends the wait ("The transaction has already
// committed locally"). So the caller must get nil or ErrCommitUnknown,
// never a plain error that reads as "not committed".

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgtemp"
)

// syncWaitServer starts a server of its own whose commits wait for a
// synchronous standby that never comes ("ghost"), for transactions that
// ask for it with SET LOCAL synchronous_commit = on (pgtemp's servers run
// with synchronous_commit off, so nothing else waits), and returns a
// clean pool on it with sync_writes created.
func syncWaitServer(t *testing.T) (clean *pgkit.DB, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := pgtemp.Start(ctx, pgtemp.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	clean = openT(t, srv.URL(), pgkit.Config{MaxConns: 2, ApplicationName: "outside-clean"})
	for _, sql := range []string{
		`CREATE TABLE sync_writes (token text NOT NULL)`,
		`ALTER SYSTEM SET synchronous_standby_names = 'ghost'`,
		`SELECT pg_reload_conf()`,
	} {
		if _, err := clean.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	for {
		var names string
		if err := clean.QueryRow(ctx, `SELECT setting FROM pg_settings WHERE name = 'synchronous_standby_names'`).Scan(&names); err != nil {
			t.Fatal(err)
		}
		if names == "ghost" {
			return clean, srv.URL()
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitSyncRep waits until a session of app is waiting for the synchronous
// standby at COMMIT.
func waitSyncRep(ctx context.Context, clean *pgkit.DB, app string) error {
	for {
		var n int
		if err := clean.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE application_name = $1 AND wait_event = 'SyncRep'`, app).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// endSessions waits (generously) for the sessions of app to end, and
// terminates those still waiting at the end, which also ends their wait
// for the standby with the transaction committed locally.
func endSessions(t *testing.T, clean *pgkit.DB, app string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		if err := clean.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND state <> 'idle'`, app).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			if _, err := clean.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, app); err != nil {
				t.Fatal(err)
			}
			deadline = time.Now().Add(10 * time.Second)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestOutsideCancelDuringCommitIsNotFailure: WithTx and a hand-begun
// Tx.Commit whose context is cancelled (context.Canceled: a client that
// went away, a parent cancel) while COMMIT waits for the synchronous
// standby. The row is committed; the caller must see nil or an error
// matching ErrCommitUnknown. On main it sees "commit: … context
// canceled", matching neither ErrCommitUnknown nor ErrConnectionLost:
// isLost does not count context.Canceled as a lost answer, so the COMMIT
// that went out is reported as a plain failure. A deadline
// (context.DeadlineExceeded) is checked beside it.
func TestOutsideCancelDuringCommitIsNotFailure(t *testing.T) {
	t.Parallel()
	clean, url := syncWaitServer(t)
	for _, c := range []struct {
		name   string
		manual bool
		cancel bool // context.Canceled; else a deadline
	}{
		{"WithTx/Canceled", false, true},
		{"WithTx/DeadlineExceeded", false, false},
		{"Begin+Commit/Canceled", true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			app := fmt.Sprintf("outside-cancel-%d", time.Now().UnixNano())
			d := openT(t, url, pgkit.Config{MaxConns: 2, ApplicationName: app})
			base, stop := context.WithTimeout(context.Background(), time.Minute)
			defer stop()
			ctx, cancel := context.WithCancel(base)
			defer cancel()
			waited := make(chan error, 1)
			go func() {
				err := waitSyncRep(base, clean, app)
				if c.cancel {
					cancel()
				}
				waited <- err
			}()
			if !c.cancel {
				// A deadline that ends during the wait at COMMIT; the wait
				// itself never ends.
				var stopD context.CancelFunc
				ctx, stopD = context.WithTimeout(ctx, 2*time.Second)
				defer stopD()
			}
			token := "sync-" + c.name
			var runs atomic.Int32
			write := func(tx pgkit.DBTX) error {
				runs.Add(1)
				if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = on`); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, `INSERT INTO sync_writes (token) VALUES ($1)`, token)
				return err
			}
			var err error
			if c.manual {
				tx, berr := d.Begin(ctx)
				if berr != nil {
					t.Fatal(berr)
				}
				if werr := write(tx.(*pgkit.Tx)); werr != nil {
					t.Fatal(werr)
				}
				err = tx.Commit(ctx)
				_ = tx.Rollback(context.Background())
			} else {
				err = pgkit.WithTx(ctx, d, func(x pgkit.DBTX) pgkit.DBTX { return x }, write)
			}
			if werr := <-waited; werr != nil {
				t.Fatalf("the COMMIT never waited for the standby: %v", werr)
			}
			endSessions(t, clean, app)
			var n int
			if qerr := clean.QueryRow(base, `SELECT count(*) FROM sync_writes WHERE token = $1`, token).Scan(&n); qerr != nil {
				t.Fatal(qerr)
			}
			t.Logf("err = %v (ErrCommitUnknown %v, ErrConnectionLost %v); fn ran %d times; %d rows",
				err, pgerr.IsCommitUnknown(err), errors.Is(err, pgerr.ErrConnectionLost), runs.Load(), n)
			if n != 1 {
				t.Fatalf("%d rows, want 1: the server committed it locally", n)
			}
			if err != nil && !pgerr.IsCommitUnknown(err) {
				t.Errorf("the transaction committed, yet the caller got %v, which does not match ErrCommitUnknown", err)
			}
		})
	}
}
