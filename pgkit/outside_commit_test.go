package pgkit_test

// An outside look at issue 15: a transaction whose session the server
// ended (FATAL, as a fast shutdown does to every session of a primary
// being demoted in a planned failover) while it was idle in the
// transaction, before its COMMIT was sent.

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// terminateOwnSession ends tx's backend from clean (pg_terminate_backend:
// FATAL 57P01 "terminating connection due to administrator command", the
// error a fast shutdown sends) and waits until it is gone, so that the
// server's FATAL is waiting on the socket before anything else is sent.
func terminateOwnSession(ctx context.Context, t *testing.T, clean *pgkit.DB, tx pgkit.DBTX) error {
	t.Helper()
	var pid int
	if err := tx.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		return err
	}
	if _, err := clean.Exec(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
		return err
	}
	for {
		var n int
		if err := clean.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE pid = $1`, pid).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestOutsideSessionEndedBeforeCommitRunsAgain: the server ended the
// session while fn was between statements (the transaction is then
// rolled back by the server), and the COMMIT pipeline's first answer is
// that FATAL. The server reads a connection's messages in order: it
// failed the statement asking the id, so it never ran the COMMIT behind
// it, and the transaction did not commit. WithTx should run fn again (or
// a hand-begun Commit say "not committed"). On main Commit takes the
// FATAL for a lost answer (isLost) of a question whose id never arrived,
// and reports ErrCommitUnknown with no id: an ambiguity the caller
// cannot resolve, for a transaction known not to have committed. In
// `make failover` every WithTx unknown is of this kind: id-less, SQLSTATE
// 57P01 (one run: 4, 2, 4, 0, 4 order unknowns in its five planned
// failovers; in three of them none of the window's unknowns was stored).
func TestOutsideSessionEndedBeforeCommitRunsAgain(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	clean, dsn, _ := retrySetup(t)
	d := openT(t, dsn, pgkit.Config{MaxConns: 3, ApplicationName: "outside-fatal"})

	t.Run("WithTx", func(t *testing.T) {
		token := "fatal-withtx"
		var runs atomic.Int32
		err := pgkit.WithTx(ctx, d, func(x pgkit.DBTX) pgkit.DBTX { return x }, func(tx pgkit.DBTX) error {
			if _, err := tx.Exec(ctx, `INSERT INTO retry_writes (token) VALUES ($1)`, token); err != nil {
				return err
			}
			if runs.Add(1) == 1 {
				return terminateOwnSession(ctx, t, clean, tx)
			}
			return nil
		})
		n := countToken(t, clean, token)
		var cu *pgerr.CommitUnknownError
		xid := uint64(0)
		if errors.As(err, &cu) {
			xid = cu.Xid
		}
		t.Logf("WithTx = %v (xid %d); fn ran %d times; %d rows", err, xid, runs.Load(), n)
		if err != nil || runs.Load() != 2 || n != 1 {
			t.Errorf("WithTx = %v after %d runs with %d rows; want nil after 2 runs with 1 row: the first attempt's COMMIT was never run", err, runs.Load(), n)
		}
	})

	t.Run("Begin+Commit", func(t *testing.T) {
		token := "fatal-manual"
		tx, err := d.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = tx.Rollback(ctx) }()
		if _, err := tx.Exec(ctx, `INSERT INTO retry_writes (token) VALUES ($1)`, token); err != nil {
			t.Fatal(err)
		}
		if err := terminateOwnSession(ctx, t, clean, tx.(*pgkit.Tx)); err != nil {
			t.Fatal(err)
		}
		err = tx.Commit(ctx)
		n := countToken(t, clean, token)
		t.Logf("Commit = %v; %d rows", err, n)
		if n != 0 {
			t.Fatalf("%d rows: the server ended the session before COMMIT, want 0", n)
		}
		if err == nil || pgerr.IsCommitUnknown(err) || !errors.Is(err, pgerr.ErrConnectionLost) {
			t.Errorf("Commit = %v (ErrCommitUnknown %v); want an error matching ErrConnectionLost and not ErrCommitUnknown: it is known not to have committed",
				err, pgerr.IsCommitUnknown(err))
		}
	})
}
