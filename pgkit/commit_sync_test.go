package pgkit_test

// A COMMIT that committed on the primary but not on its synchronous
// standby, whose answer was lost: the primary's pg_xact_status says
// "committed", yet a failover would lose it (a primary that crashed and
// restarted in place knows such commits; TestFailoverFormation lost one
// that way under load). WithTx must not call it a success until the
// standby holds it.

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgtemp"
)

// syncServer starts a server of the test's own whose commits wait for a
// synchronous standby that never connects, with a table sync_writes, and
// returns it with a superuser connection to it.
func syncServer(t *testing.T, ctx context.Context) (*pgtemp.Server, *pgx.Conn) {
	t.Helper()
	srv, err := pgtemp.Start(ctx, pgtemp.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	admin, err := pgx.Connect(ctx, srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close(context.Background()) })
	for _, sql := range []string{
		`CREATE TABLE sync_writes (token text NOT NULL)`,
		`CREATE ROLE sync_app LOGIN`, // no privilege beyond its table: what resolving needs
		`GRANT INSERT, SELECT ON sync_writes TO sync_app`,
		`ALTER SYSTEM SET synchronous_standby_names = 'nosuch_standby'`,
		`ALTER ROLE sync_app SET synchronous_commit = on`, // pgtemp's server has it off, for speed
		`SELECT pg_reload_conf()`,
	} {
		if _, err := admin.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	// pg_reload_conf only signals: wait until a commit waits.
	untilCommitsWait(t, ctx, srv, admin)
	return srv, admin
}

// untilCommitsWait waits until a commit on srv waits for the standby.
// A new session seeing synchronous_standby_names is not enough: a commit
// waits only once the checkpointer, reloading the configuration in its
// own time (slow on a busy machine), has marked sync standbys as defined
// in shared memory; until then every commit returns at once. A probe
// commits a write to a table of its own with synchronous_commit on; when
// it is seen waiting (SyncRep), its wait is cancelled (it committed
// locally) and the server is ready.
func untilCommitsWait(t *testing.T, ctx context.Context, srv *pgtemp.Server, admin *pgx.Conn) {
	t.Helper()
	if _, err := admin.Exec(ctx, `CREATE TABLE sync_probe (n int)`); err != nil {
		t.Fatal(err)
	}
	probe, err := pgx.Connect(ctx, srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = probe.Close(context.Background()) }()
	if _, err := probe.Exec(ctx, `SET synchronous_commit = on`); err != nil {
		t.Fatal(err)
	}
	pid := probe.PgConn().PID()
	for deadline := time.Now().Add(60 * time.Second); ; {
		done := make(chan error, 1)
		go func() {
			_, err := probe.Exec(ctx, `INSERT INTO sync_probe VALUES (1)`)
			done <- err
		}()
		waited := false
		for !waited {
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("probe commit: %v", err)
				}
				done = nil
			case <-time.After(10 * time.Millisecond):
			}
			if done == nil {
				break // it did not wait: not yet
			}
			var n int
			if err := admin.QueryRow(ctx, `SELECT count(pg_cancel_backend(pid)) FROM pg_stat_activity WHERE pid = $1 AND wait_event = 'SyncRep'`, pid).Scan(&n); err != nil {
				t.Fatal(err)
			}
			waited = n > 0
		}
		if waited {
			if err := <-done; err != nil {
				t.Fatalf("probe commit, its wait cancelled: %v", err)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("commits still do not wait for the synchronous standby a minute after pg_reload_conf")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCommitLocalOnlyIsNotReportedCommitted(t *testing.T) {
	t.Parallel()
	for _, multiplex := range []bool{false, true} {
		t.Run(fmt.Sprintf("multiplex=%v", multiplex), func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			srv, admin := syncServer(t, ctx)
			app := fmt.Sprintf("sync-unknown-%v", multiplex)
			cfg := pgkit.Config{MaxConns: 2, ApplicationName: app, Multiplex: multiplex, CommitResolveTimeout: 3 * time.Second}
			d := openT(t, syncAppURL(srv), cfg)
			done := make(chan error, 1)
			go func() { done <- untilRoleSyncRep(ctx, admin, "count(pg_terminate_backend(pid))") }()
			var runs atomic.Int32
			err := pgkit.WithTx(ctx, d, func(x pgkit.DBTX) pgkit.DBTX { return x }, func(tx pgkit.DBTX) error {
				runs.Add(1)
				_, err := tx.Exec(ctx, `INSERT INTO sync_writes (token) VALUES ('local-only')`)
				return err
			})
			if terr := <-done; terr != nil {
				t.Fatalf("terminate: %v", terr)
			}
			if !pgerr.IsCommitUnknown(err) {
				t.Fatalf("WithTx = %v, want ErrCommitUnknown: the commit is on the primary only, its standby never confirmed it", err)
			}
			if n := runs.Load(); n != 1 {
				t.Errorf("fn ran %d times, want 1 (it committed on the primary)", n)
			}
			var n int
			if err := admin.QueryRow(ctx, `SELECT count(*) FROM sync_writes`).Scan(&n); err != nil || n != 1 {
				t.Errorf("%d rows on the primary (%v), want 1", n, err)
			}
		})
	}
}

func TestCommitLocalThenConfirmedIsCommitted(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, admin := syncServer(t, ctx)
	const app = "sync-confirmed"
	d := openT(t, syncAppURL(srv), pgkit.Config{MaxConns: 2, ApplicationName: app, CommitResolveTimeout: time.Minute})
	done := make(chan error, 1)
	go func() {
		if err := untilRoleSyncRep(ctx, admin, "count(pg_terminate_backend(pid))"); err != nil {
			done <- err
			return
		}
		// The resolution's own commit waits for the standby in turn;
		// let the standby "confirm" (no standby required any more).
		if err := untilRoleSyncRep(ctx, admin, "count(*)"); err != nil {
			done <- err
			return
		}
		for _, sql := range []string{`ALTER SYSTEM RESET synchronous_standby_names`, `SELECT pg_reload_conf()`} {
			if _, err := admin.Exec(ctx, sql); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	var runs atomic.Int32
	err := pgkit.WithTx(ctx, d, func(x pgkit.DBTX) pgkit.DBTX { return x }, func(tx pgkit.DBTX) error {
		runs.Add(1)
		_, err := tx.Exec(ctx, `INSERT INTO sync_writes (token) VALUES ('confirmed')`)
		return err
	})
	if derr := <-done; derr != nil {
		t.Fatalf("fault: %v", derr)
	}
	if err != nil {
		t.Fatalf("WithTx = %v, want nil: committed, and its standby requirement then met", err)
	}
	if n := runs.Load(); n != 1 {
		t.Errorf("fn ran %d times, want 1", n)
	}
	var n int
	if err := admin.QueryRow(ctx, `SELECT count(*) FROM sync_writes`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d rows (%v), want 1", n, err)
	}
}
