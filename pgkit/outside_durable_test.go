package pgkit_test

// An outside look at the commit-outcome guarantee (issue 15), read from
// the README's "High availability: failover without ambiguity": WithTx
// returns nil only for a transaction committed *and held by the
// synchronous standbys*, never runs a committed one twice, and reports
// pgerr.ErrCommitUnknown otherwise.
//
// Every server here requires a synchronous standby that never connects
// (syncServer), so no commit is ever held by one: any nil from WithTx or
// Tx.Commit for a transaction that wrote is a commit reported as held that
// is not.
//
// PostgreSQL answers a COMMIT whose wait for the standby is cancelled
// (pg_cancel_backend, a client's CancelRequest) with a
// WARNING ("canceling wait for synchronous replication due to user
// request … The transaction has already committed locally, but might not
// have been replicated to the standby") and a successful CommandComplete.
// (statement_timeout does not: the server disables it before the commit
// itself runs, so a role's statement_timeout leaves the COMMIT waiting.)
// Only a lost connection (pg_terminate_backend, a reset, pgx closing it
// when a plain context ends) reaches pgkit's resolution; the cancelled
// waits below are taken for durable successes.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgtemp"
)

// durableIdentity is the constructor for fn's Queries: the DBTX itself.
func durableIdentity(x pgkit.DBTX) pgkit.DBTX { return x }

// syncAppURL is srv's URL logging in as sync_app (syncServer's role with
// INSERT and SELECT on sync_writes and nothing else).
func syncAppURL(srv *pgtemp.Server) string {
	return strings.Replace(srv.URL(), "postgres://postgres@", "postgres://sync_app@", 1)
}

// adminRun runs each statement on admin, failing t on an error.
func adminRun(t *testing.T, ctx context.Context, admin *pgx.Conn, sqls ...string) {
	t.Helper()
	for _, sql := range sqls {
		if _, err := admin.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
}

// untilRoleSyncRep polls until a session of role sync_app waits for the
// standby (wait_event SyncRep) and then runs agg over those sessions
// (count(*), count(pg_cancel_backend(pid)), …). It matches by role, not
// application_name, so that it works behind PgBouncer too.
func untilRoleSyncRep(ctx context.Context, admin *pgx.Conn, agg string) error {
	for {
		var n int
		err := admin.QueryRow(ctx, `SELECT `+agg+` FROM pg_stat_activity
			WHERE usename = 'sync_app' AND wait_event = 'SyncRep'`).Scan(&n)
		switch {
		case err == nil && n > 0:
			return nil
		case err != nil:
			var dump string
			_ = admin.QueryRow(context.Background(), `SELECT coalesce(string_agg(coalesce(wait_event, '-') || ' ' || state || ': ' || query, '; '), '')
				FROM pg_stat_activity WHERE usename = 'sync_app'`).Scan(&dump)
			return fmt.Errorf("no session of sync_app waited for the standby: %w (its sessions: %s)", err, dump)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// syncRows is how many rows sync_writes holds on the primary.
func syncRows(t *testing.T, ctx context.Context, admin *pgx.Conn) int {
	t.Helper()
	var n int
	if err := admin.QueryRow(ctx, `SELECT count(*) FROM sync_writes`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// insertOnce is a WithTx function that counts its runs and writes one row.
func insertOnce(ctx context.Context, runs *atomic.Int32, token string) func(pgkit.DBTX) error {
	return func(tx pgkit.DBTX) error {
		runs.Add(1)
		_, err := tx.Exec(ctx, `INSERT INTO sync_writes (token) VALUES ($1)`, token)
		return err
	}
}

// wantUnknownOnce checks the README's promise for a commit its standby
// never confirmed: ErrCommitUnknown, fn run once, the row on the primary.
func wantUnknownOnce(t *testing.T, ctx context.Context, admin *pgx.Conn, what string, err error, runs int32) {
	t.Helper()
	if !pgerr.IsCommitUnknown(err) {
		t.Errorf("%s = %v, want an error matching pgerr.ErrCommitUnknown: the transaction committed on the primary only, the synchronous standby never confirmed it (README: nil means \"committed and held by the standbys\")", what, err)
	}
	if runs != 1 {
		t.Errorf("fn ran %d times, want 1", runs)
	}
	// A backend whose client left may still wait for the standby, its
	// commit invisible until then: end such waits first.
	if _, err := admin.Exec(ctx, `SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE wait_event = 'SyncRep'`); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var waiting int
		if err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting == 0 || time.Now().After(deadline) {
			break
		}
	}
	if n := syncRows(t, ctx, admin); n != 1 {
		t.Errorf("%d rows on the primary, want 1 (committed locally once)", n)
	}
}

// TestOutsideCancelledStandbyWaitIsNotHeld: someone cancels the COMMIT
// while it waits for the standby (an operator's pg_cancel_backend on a
// session stuck in SyncRep, a monitoring job's query cancel). The server
// cancels the wait, warns that the transaction "might not have been
// replicated to the standby", and answers COMMIT. WithTx (and Tx.Commit
// of a transaction begun by hand), on every kind of DB the README lists,
// reports nil on main: a commit no standby holds, which a failover loses,
// reported as "committed and held by the standbys". Expected: a wait cut
// short is no confirmation; the outcome is resolved as a lost answer is
// (durableSQL within CommitResolveTimeout) and, the standby never coming,
// is ErrCommitUnknown.
func TestOutsideCancelledStandbyWaitIsNotHeld(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		open func(t *testing.T, ctx context.Context, srv *pgtemp.Server, cfg pgkit.Config) opened
		// byHand: BeginTx, fn, Commit instead of WithTx.
		byHand bool
	}{
		{name: "pooled", open: openPooled},
		{name: "BeginTx+Commit", open: openPooled, byHand: true},
		{name: "multiplexed", open: func(t *testing.T, ctx context.Context, srv *pgtemp.Server, cfg pgkit.Config) opened {
			cfg.Multiplex, cfg.MaxConns = true, 3
			return openPooled(t, ctx, srv, cfg)
		}},
		{name: "pgbouncer-transaction", open: func(t *testing.T, ctx context.Context, srv *pgtemp.Server, cfg pgkit.Config) opened {
			b, err := pgtemp.StartBouncer(ctx, syncAppURL(srv), "transaction", "sync_app")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = b.Stop() })
			cfg.Pooler = pgkit.PoolerTransaction
			d := openT(t, b.URL(syncAppURL(srv)), cfg)
			return opened{src: d, close: func() {}}
		}},
		{name: "replicated", open: func(t *testing.T, ctx context.Context, srv *pgtemp.Server, cfg pgkit.Config) opened {
			standby, err := pgtemp.Start(ctx, pgtemp.Config{ReplicaOf: srv.URL()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = standby.Stop() })
			r, err := pgkit.OpenReplicated(ctx, syncAppURL(srv), []string{syncAppURL(standby)}, cfg, pgkit.ReplicaConfig{})
			if err != nil {
				t.Fatal(err)
			}
			return opened{src: r, close: r.Close}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			srv, admin := syncServer(t, ctx)
			o := tc.open(t, ctx, srv, pgkit.Config{MaxConns: 2, CommitResolveTimeout: 3 * time.Second})
			defer o.close()
			done := make(chan error, 1)
			go func() { done <- untilRoleSyncRep(ctx, admin, "count(pg_cancel_backend(pid))") }()
			var runs atomic.Int32
			fn := insertOnce(ctx, &runs, "cancelled-"+tc.name)
			var err error
			if tc.byHand {
				b, ok := o.src.(interface {
					BeginTx(context.Context, pgx.TxOptions) (pgx.Tx, error)
				})
				if !ok {
					t.Fatalf("%T has no BeginTx", o.src)
				}
				tx, berr := b.BeginTx(ctx, pgx.TxOptions{})
				if berr != nil {
					t.Fatal(berr)
				}
				if err = fn(tx); err != nil {
					t.Fatal(err)
				}
				err = tx.Commit(ctx)
			} else {
				err = pgkit.WithTx(ctx, o.src, durableIdentity, fn)
			}
			if cerr := <-done; cerr != nil {
				t.Fatal(cerr)
			}
			wantUnknownOnce(t, ctx, admin, "commit whose standby wait was cancelled", err, runs.Load())
		})
	}
}

// opened is a Source under test and what closes it.
type opened struct {
	src   pgkit.Source
	close func()
}

// openPooled opens a *DB on srv as sync_app.
func openPooled(t *testing.T, _ context.Context, srv *pgtemp.Server, cfg pgkit.Config) opened {
	d := openT(t, syncAppURL(srv), cfg)
	return opened{src: d, close: func() {}}
}

// TestOutsideWithTxInGatherIsNotHeld: WithTx called from a Gather
// function, as a page that writes one part while it reads others does.
// Gather marks its functions' contexts for gentle cancellation (a
// CancelRequest after 50 ms, the connection kept), and that reaches the
// COMMIT too: when the context ends while the COMMIT waits for the
// standby (its QueryTimeout, or a sibling's error), pgkit itself cancels
// the wait, the server answers COMMIT, and WithTx returns nil on main.
// Outside Gather the same deadline closes the connection and resolution
// reports ErrCommitUnknown (a claim that held). Expected: the same here.
func TestOutsideWithTxInGatherIsNotHeld(t *testing.T) {
	t.Parallel()
	for _, why := range []string{"QueryTimeout", "sibling error"} {
		t.Run(why, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			srv, admin := syncServer(t, ctx)
			cfg := pgkit.Config{MaxConns: 4, CommitResolveTimeout: 3 * time.Second}
			if why == "QueryTimeout" {
				cfg.QueryTimeout = time.Second
			}
			d := openT(t, syncAppURL(srv), cfg)
			var runs atomic.Int32
			var txErr error
			write := func(ctx context.Context, q pgkit.DBTX) error {
				txErr = pgkit.WithTx(ctx, d, durableIdentity, insertOnce(ctx, &runs, "gather-"+why))
				return txErr
			}
			fns := []func(context.Context, pgkit.DBTX) error{write}
			errSibling := errors.New("sibling failed")
			if why == "sibling error" {
				fns = append(fns, func(ctx context.Context, q pgkit.DBTX) error {
					if err := untilRoleSyncRep(ctx, admin, "count(*)"); err != nil {
						return err
					}
					return errSibling
				})
			}
			// QueryTimeout bounds only statements whose context has no
			// deadline: Gather's gets none, a watchdog cancels it instead.
			gctx, gcancel := context.WithCancel(context.Background())
			defer gcancel()
			watchdog := time.AfterFunc(time.Minute, gcancel)
			defer watchdog.Stop()
			gerr := pgkit.Gather(gctx, d, durableIdentity, fns...)
			if !watchdog.Stop() {
				t.Fatal("Gather still running after a minute")
			}
			if why == "sibling error" && !errors.Is(gerr, errSibling) {
				t.Errorf("Gather = %v, want the sibling's error", gerr)
			}
			wantUnknownOnce(t, ctx, admin, "WithTx inside a Gather function, its context ended during the standby wait", txErr, runs.Load())
		})
	}
}

// TestOutsideLocalSyncCommitResolvedAsHeld: the server (and role) default
// is synchronous_commit = off, and the one transaction that matters asks
// for the standby itself (SET LOCAL synchronous_commit = on). Its COMMIT
// waits for the standby and its connection is lost there. The resolution
// finds it committed and runs durableSQL on a session that has
// synchronous_commit off: that commit waits for nothing, so pgkit takes
// it as the standby's confirmation and WithTx returns nil on main. The
// README's "committed and held by the standbys: nil" does not hold: the
// check's commit must wait for the standby itself (SET LOCAL
// synchronous_commit = on in durableSQL), whatever the session's default.
// Expected: ErrCommitUnknown at CommitResolveTimeout.
func TestOutsideLocalSyncCommitResolvedAsHeld(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, admin := syncServer(t, ctx)
	adminRun(t, ctx, admin, `ALTER ROLE sync_app RESET synchronous_commit`) // the server's own: off
	d := openT(t, syncAppURL(srv), pgkit.Config{MaxConns: 2, CommitResolveTimeout: 3 * time.Second})
	done := make(chan error, 1)
	go func() { done <- untilRoleSyncRep(ctx, admin, "count(pg_terminate_backend(pid))") }()
	var runs atomic.Int32
	err := pgkit.WithTx(ctx, d, durableIdentity, func(tx pgkit.DBTX) error {
		runs.Add(1)
		if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = on`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO sync_writes (token) VALUES ('local-sync')`)
		return err
	})
	if terr := <-done; terr != nil {
		t.Fatal(terr)
	}
	wantUnknownOnce(t, ctx, admin, "WithTx with SET LOCAL synchronous_commit = on, its answer lost in the standby wait", err, runs.Load())
}
