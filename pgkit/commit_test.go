package pgkit_test

// A COMMIT whose answer is lost with its connection: WithTx and Tx.Commit
// look the outcome up (commit.go). The COMMIT is held on the server by a
// deferred constraint trigger that sleeps (it fires at COMMIT, after the
// transaction's id has been flushed to the client), and the test resets
// the connection through a faultproxy while it sleeps: the server then
// commits (or aborts, when the trigger raises) with nobody to tell.

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
	"github.com/shopdb/shopdb/pgkit/internal/faultproxy"
	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// commitSetup makes retry_writes with a deferred trigger that sleeps at
// COMMIT for rows whose token starts with "slow" and raises for those
// that start with "fail" while commit_fail_once holds a row for the
// token (deleted as it raises: the next attempt commits).
func commitSetup(t *testing.T) (clean *pgkit.DB, dsn string, p *faultproxy.Proxy) {
	t.Helper()
	clean, dsn, p = retrySetup(t)
	for _, sql := range []string{
		`CREATE TABLE commit_fail_once (token text PRIMARY KEY)`,
		`CREATE FUNCTION commit_hold() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.token LIKE 'slow%' OR NEW.token LIKE 'fail%' THEN
				PERFORM pg_sleep(1.5);
			END IF;
			IF NEW.token LIKE 'fail%' THEN
				-- a row lock of its own: the delete commits only if the
				-- transaction does, so raise in a separate way
				IF EXISTS (SELECT 1 FROM commit_fail_once WHERE token = NEW.token) THEN
					RAISE EXCEPTION 'refused at commit';
				END IF;
			END IF;
			RETURN NULL;
		END $$`,
		`CREATE CONSTRAINT TRIGGER commit_hold AFTER INSERT ON retry_writes
			DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION commit_hold()`,
	} {
		if _, err := clean.Exec(context.Background(), sql); err != nil {
			t.Fatal(err)
		}
	}
	return clean, dsn, p
}

// resetWhenCommitting resets the proxy connection of the session whose
// application_name is app once it is running COMMIT (in the trigger's
// sleep), refusing new connections for 300 ms from then, and returns
// how many it reset.
func resetWhenCommitting(ctx context.Context, clean *pgkit.DB, p *faultproxy.Proxy, app string) (int, error) {
	return resetWhenRunning(ctx, clean, p, app, "commit%")
}

// resetWhenRunning is resetWhenCommitting for a statement whose text is
// LIKE pattern.
func resetWhenRunning(ctx context.Context, clean *pgkit.DB, p *faultproxy.Proxy, app, pattern string) (int, error) {
	for {
		var port int
		err := clean.QueryRow(ctx, `SELECT client_port FROM pg_stat_activity
			WHERE application_name = $1 AND state = 'active' AND query ILIKE $2`, app, pattern).Scan(&port)
		if err == nil {
			for _, c := range p.Conns() {
				if strings.HasSuffix(c.ServerAddr(), fmt.Sprintf(":%d", port)) {
					// Let the id, flushed ahead of the COMMIT, through
					// the proxy first (see idLost).
					time.Sleep(200 * time.Millisecond)
					// pgx sends a CancelRequest for the statement of a
					// connection that broke, which would abort the
					// COMMIT: refused for a while, as a partition would.
					p.Refuse(true)
					c.Reset()
					time.Sleep(300 * time.Millisecond)
					p.Refuse(false)
					return 1, nil
				}
			}
			var addrs []string
			for _, c := range p.Conns() {
				addrs = append(addrs, c.ServerAddr())
			}
			var dump string
			_ = clean.QueryRow(ctx, `SELECT string_agg(client_port::text || ' ' || state || ' ' || query, '; ') FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&dump)
			return 0, fmt.Errorf("no proxy connection for the session on port %d among %v: %s", port, addrs, dump)
		}
		if !errors.Is(err, pgerr.ErrNotFound) {
			return 0, err
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// waitQuiet waits until no session of app is running a statement: the
// backend of an earlier reset goes on with its statement for a while,
// and must not be taken for the next one's.
func waitQuiet(t *testing.T, ctx context.Context, clean *pgkit.DB, app string) {
	t.Helper()
	for {
		var busy int
		if err := clean.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND state = 'active'`, app).Scan(&busy); err != nil {
			t.Fatal(err)
		}
		if busy == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// idLost reports the error of a COMMIT reset before even the id flushed
// ahead of it reached the client (the proxy still held it: a loaded
// machine): legitimately unknown, and no test of the resolution, which
// then runs again with a new token.
func idLost(err error) bool {
	var cu *pgerr.CommitUnknownError
	return errors.As(err, &cu) && cu.Xid == 0
}

// countToken is how many rows of retry_writes carry token.
func countToken(t *testing.T, clean *pgkit.DB, token string) int {
	t.Helper()
	var n int
	if err := clean.QueryRow(context.Background(), `SELECT count(*) FROM retry_writes WHERE token = $1`, token).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCommitLostAnswerResolvedCommitted: the COMMIT committed on the
// server and its answer was lost; WithTx returns nil and does not run fn
// again, pooled and multiplexed.
func TestCommitLostAnswerResolvedCommitted(t *testing.T) {
	t.Parallel()
	for _, multiplex := range []bool{false, true} {
		t.Run(fmt.Sprintf("multiplex=%v", multiplex), func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			clean, dsn, p := commitSetup(t)
			app := fmt.Sprintf("commit-ok-%v", multiplex)
			d := openT(t, dsn, pgkit.Config{MaxConns: 3, ApplicationName: app, Multiplex: multiplex})
			for try := 0; ; try++ {
				token := fmt.Sprintf("slow-ok-%d", try)
				waitQuiet(t, ctx, clean, app)
				done := make(chan error, 1)
				go func() { _, err := resetWhenCommitting(ctx, clean, p, app); done <- err }()
				var runs atomic.Int32
				err := pgkit.WithTx(ctx, d, func(x pgkit.DBTX) pgkit.DBTX { return x }, func(tx pgkit.DBTX) error {
					runs.Add(1)
					_, err := tx.Exec(ctx, `INSERT INTO retry_writes (token) VALUES ($1)`, token)
					return err
				})
				if rerr := <-done; rerr != nil {
					t.Fatalf("reset: %v", rerr)
				}
				if idLost(err) && try < 4 {
					continue
				}
				if err != nil {
					t.Fatalf("WithTx = %v, want nil: the transaction committed", err)
				}
				if n := runs.Load(); n != 1 {
					t.Errorf("fn ran %d times, want 1", n)
				}
				if n := countToken(t, clean, token); n != 1 {
					t.Errorf("%d rows, want 1", n)
				}
				break
			}
		})
	}
}

// TestCommitLostAnswerResolvedAborted: the COMMIT failed on the server
// (a deferred trigger raised) after its answer was lost; WithTx finds it
// aborted and runs fn again, which commits: one row.
func TestCommitLostAnswerResolvedAborted(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	clean, dsn, p := commitSetup(t)
	d := openT(t, dsn, pgkit.Config{MaxConns: 3, ApplicationName: "commit-abort"})
	for try := 0; ; try++ {
		token := fmt.Sprintf("fail-%d", try)
		if _, err := clean.Exec(ctx, `INSERT INTO commit_fail_once VALUES ($1)`, token); err != nil {
			t.Fatal(err)
		}
		waitQuiet(t, ctx, clean, "commit-abort")
		done := make(chan error, 1)
		go func() { _, err := resetWhenCommitting(ctx, clean, p, "commit-abort"); done <- err }()
		var runs atomic.Int32
		err := pgkit.WithTx(ctx, d, func(x pgkit.DBTX) pgkit.DBTX { return x }, func(tx pgkit.DBTX) error {
			if runs.Add(1) == 2 {
				// The second attempt: let the trigger pass.
				if _, err := clean.Exec(ctx, `DELETE FROM commit_fail_once`); err != nil {
					return err
				}
			}
			_, err := tx.Exec(ctx, `INSERT INTO retry_writes (token) VALUES ($1)`, token)
			return err
		})
		if rerr := <-done; rerr != nil {
			t.Fatalf("reset: %v", rerr)
		}
		if idLost(err) && try < 4 {
			continue
		}
		if err != nil {
			t.Fatalf("WithTx = %v, want nil after a second attempt", err)
		}
		if n := runs.Load(); n != 2 {
			t.Errorf("fn ran %d times, want 2: the first attempt aborted at COMMIT", n)
		}
		if n := countToken(t, clean, token); n != 1 {
			t.Errorf("%d rows, want 1", n)
		}
		break
	}
}

// TestCommitLostAnswerUnresolved: when the outcome cannot be learned in
// time (the COMMIT still running at CommitResolveTimeout), Commit returns
// a *pgerr.CommitUnknownError with the transaction's id, which matches
// ErrCommitUnknown and ErrConnectionLost, and WithTx does not run fn
// again; the id's status, looked up later, is the truth.
func TestCommitLostAnswerUnresolved(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	clean, dsn, p := commitSetup(t)
	d := openT(t, dsn, pgkit.Config{MaxConns: 3, ApplicationName: "commit-unknown", CommitResolveTimeout: 200 * time.Millisecond})
	var (
		err  error
		runs atomic.Int32
	)
	token := ""
	for try := 0; ; try++ {
		token = fmt.Sprintf("slow-unknown-%d", try)
		waitQuiet(t, ctx, clean, "commit-unknown")
		done := make(chan error, 1)
		go func() { _, err := resetWhenCommitting(ctx, clean, p, "commit-unknown"); done <- err }()
		runs.Store(0)
		err = pgkit.WithTx(ctx, d, func(x pgkit.DBTX) pgkit.DBTX { return x }, func(tx pgkit.DBTX) error {
			runs.Add(1)
			_, err := tx.Exec(ctx, `INSERT INTO retry_writes (token) VALUES ($1)`, token)
			return err
		})
		if rerr := <-done; rerr != nil {
			t.Fatalf("reset: %v", rerr)
		}
		if !idLost(err) || try >= 4 {
			break
		}
	}
	var cu *pgerr.CommitUnknownError
	if !errors.As(err, &cu) || !errors.Is(err, pgerr.ErrCommitUnknown) || !errors.Is(err, pgerr.ErrConnectionLost) || !pgerr.IsTransient(err) {
		t.Fatalf("WithTx = %v (%T), want a *pgerr.CommitUnknownError matching ErrCommitUnknown and ErrConnectionLost", err, err)
	}
	if cu.Xid == 0 {
		t.Errorf("the error carries no transaction id: %v", err)
	}
	if n := runs.Load(); n != 1 {
		t.Errorf("fn ran %d times, want 1: an unknown outcome is never run again", n)
	}
	// The trigger's sleep ends and the transaction commits: its id says so.
	var status string
	for {
		if err := clean.QueryRow(ctx, `SELECT pg_xact_status($1::text::xid8)`, fmt.Sprint(cu.Xid)).Scan(&status); err != nil {
			t.Fatal(err)
		}
		if status != "in progress" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if status != "committed" || countToken(t, clean, token) != 1 {
		t.Errorf("transaction %d is %s with %d rows, want committed with 1", cu.Xid, status, countToken(t, clean, token))
	}
}

// TestCommitLostBeforeCommitRunsAgain: a transaction whose connection
// broke before its COMMIT (a statement of fn lost it) did not commit;
// WithTx runs fn again on a new connection, and the row is there once.
// With MaxAttempts 1 it is not run again.
func TestCommitLostBeforeCommitRunsAgain(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	clean, dsn, p := commitSetup(t)
	d := openT(t, dsn, pgkit.Config{MaxConns: 3, ApplicationName: "commit-before"})
	for _, attempts := range []int{0, 1} {
		token := fmt.Sprintf("before-%d", attempts)
		var runs atomic.Int32
		err := pgkit.WithTxOptions(ctx, d, func(x pgkit.DBTX) pgkit.DBTX { return x }, pgkit.TxOptions{MaxAttempts: attempts}, func(tx pgkit.DBTX) error {
			if _, err := tx.Exec(ctx, `INSERT INTO retry_writes (token) VALUES ($1)`, token); err != nil {
				return err
			}
			if runs.Add(1) == 1 {
				// Break the connection under the open transaction.
				if pc := proxyConnOf(p, tx.(*pgkit.Tx).Conn()); pc != nil {
					pc.Reset()
				}
				_, err := tx.Exec(ctx, `SELECT 1`)
				return err
			}
			return nil
		})
		switch attempts {
		case 0:
			if err != nil || runs.Load() != 2 || countToken(t, clean, token) != 1 {
				t.Errorf("default options: WithTx = %v after %d runs with %d rows, want nil after 2 runs with 1 row", err, runs.Load(), countToken(t, clean, token))
			}
		case 1:
			if !errors.Is(err, pgerr.ErrConnectionLost) || pgerr.IsCommitUnknown(err) || runs.Load() != 1 || countToken(t, clean, token) != 0 {
				t.Errorf("MaxAttempts 1: WithTx = %v after %d runs with %d rows, want ErrConnectionLost (not unknown) after 1 run with no row", err, runs.Load(), countToken(t, clean, token))
			}
		}
	}
}

// TestCommitManualTx: Begin and Commit by hand get the same resolution,
// and a deferred Rollback after the resolved Commit does nothing.
func TestCommitManualTx(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	clean, dsn, p := commitSetup(t)
	d := openT(t, dsn, pgkit.Config{MaxConns: 3, ApplicationName: "commit-manual"})
	for try := 0; ; try++ {
		token := fmt.Sprintf("slow-manual-%d", try)
		waitQuiet(t, ctx, clean, "commit-manual")
		done := make(chan error, 1)
		go func() { _, err := resetWhenCommitting(ctx, clean, p, "commit-manual"); done <- err }()
		tx, err := d.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO retry_writes (token) VALUES ($1)`, token); err != nil {
			t.Fatal(err)
		}
		err = tx.Commit(ctx)
		if rerr := <-done; rerr != nil {
			t.Fatalf("reset: %v", rerr)
		}
		if rerr := tx.Rollback(ctx); !errors.Is(rerr, pgx.ErrTxClosed) {
			t.Errorf("Rollback after Commit = %v, want pgx.ErrTxClosed", rerr)
		}
		if idLost(err) && try < 4 {
			continue
		}
		if err != nil {
			t.Errorf("Commit = %v, want nil: it committed", err)
		}
		if n := countToken(t, clean, token); n != 1 {
			t.Errorf("%d rows, want 1", n)
		}
		if s := d.Stats(); s.InUse != 0 {
			t.Errorf("%d connections still in use after the transaction", s.InUse)
		}
		break
	}
}

// TestAutocommitWriteLostAnswerIsUnknown: a write outside a transaction
// whose answer was lost returns an error matching ErrCommitUnknown (it
// committed here), pooled and multiplexed, on Exec, QueryRow and
// Pipeline; a
// read whose answer was lost is only ErrConnectionLost.
func TestAutocommitWriteLostAnswerIsUnknown(t *testing.T) {
	t.Parallel()
	for _, multiplex := range []bool{false, true} {
		t.Run(fmt.Sprintf("multiplex=%v", multiplex), func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			clean, dsn, p := commitSetup(t)
			app := fmt.Sprintf("autocommit-%v", multiplex)
			d := openT(t, dsn, pgkit.Config{MaxConns: 3, ApplicationName: app, Multiplex: multiplex})
			run := map[string]func(token string) error{
				"Exec": func(token string) error {
					_, err := d.Exec(ctx, `INSERT INTO retry_writes (token) VALUES ($1)`, token)
					return err
				},
				"Pipeline": func(token string) error {
					return pgkit.Pipeline(ctx, d, func(x pgkit.DBTX) pgkit.DBTX { return x }, func(ctx context.Context, q pgkit.DBTX) error {
						_, err := q.Exec(ctx, `INSERT INTO retry_writes (token) VALUES ($1)`, token)
						return err
					})
				},
				"QueryRow": func(token string) error {
					var got string
					return d.QueryRow(ctx, `INSERT INTO retry_writes (token) VALUES ($1) RETURNING token`, token).Scan(&got)
				},
			}
			for name, write := range run {
				token := "slow-auto-" + name
				waitQuiet(t, ctx, clean, app)
				done := make(chan error, 1)
				go func() { _, err := resetWhenRunning(ctx, clean, p, app, "insert%"); done <- err }()
				err := write(token)
				if rerr := <-done; rerr != nil {
					t.Fatalf("reset: %v", rerr)
				}
				if !pgerr.IsCommitUnknown(err) || !errors.Is(err, pgerr.ErrConnectionLost) {
					t.Errorf("%s: %v, want an error matching ErrCommitUnknown and ErrConnectionLost", name, err)
				}
				if strings.Contains(fmt.Sprint(err), token) {
					t.Errorf("%s: the error shows the argument: %v", name, err)
				}
			}
			waitQuiet(t, ctx, clean, app)
			done := make(chan error, 1)
			go func() { _, err := resetWhenRunning(ctx, clean, p, app, "select pg_sleep%"); done <- err }()
			var v string
			err := d.QueryRow(ctx, `SELECT pg_sleep(1.5)::text`).Scan(&v)
			if rerr := <-done; rerr != nil {
				t.Fatalf("reset: %v", rerr)
			}
			if !errors.Is(err, pgerr.ErrConnectionLost) || pgerr.IsCommitUnknown(err) {
				t.Errorf("read: %v, want ErrConnectionLost and not ErrCommitUnknown", err)
			}
		})
	}
}

// TestWithTxRunsAgainAfterReadOnlyRefusal: a transaction refused with
// 25006 (the server read-only, as a primary being demoted is) did not
// commit; WithTx runs it again on a new connection, within FailoverWait,
// and it commits once the server takes writes. A ReadOnly transaction's
// own 25006 is returned at once.
func TestWithTxRunsAgainAfterReadOnlyRefusal(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	clean, dsn, _ := retrySetup(t)
	var dbname string
	if err := clean.QueryRow(ctx, `SELECT current_database()`).Scan(&dbname); err != nil {
		t.Fatal(err)
	}
	if _, err := clean.Exec(ctx, `ALTER DATABASE `+pgx.Identifier{dbname}.Sanitize()+` SET default_transaction_read_only = on`); err != nil {
		t.Fatal(err)
	}
	d := openT(t, dsn, pgkit.Config{MaxConns: 3, ApplicationName: "readonly-again"})
	var runs atomic.Int32
	writable := make(chan error, 1)
	go func() {
		for runs.Load() < 2 { // refused at least once before the server takes writes
			time.Sleep(10 * time.Millisecond)
		}
		_, err := clean.Exec(ctx, `ALTER DATABASE `+pgx.Identifier{dbname}.Sanitize()+` RESET default_transaction_read_only`)
		writable <- err
	}()
	err := pgkit.WithTxOptions(ctx, d, func(x pgkit.DBTX) pgkit.DBTX { return x }, pgkit.TxOptions{FailoverWait: 30 * time.Second}, func(tx pgkit.DBTX) error {
		runs.Add(1)
		_, err := tx.Exec(ctx, `INSERT INTO retry_writes (token) VALUES ('ro-1')`)
		return err
	})
	if werr := <-writable; werr != nil {
		t.Fatal(werr)
	}
	if err != nil || countToken(t, clean, "ro-1") != 1 {
		t.Fatalf("WithTx = %v after %d runs with %d rows, want nil and 1 row", err, runs.Load(), countToken(t, clean, "ro-1"))
	}
	runs.Store(0)
	err = pgkit.WithTxOptions(ctx, d, func(x pgkit.DBTX) pgkit.DBTX { return x }, pgkit.TxOptions{ReadOnly: true}, func(tx pgkit.DBTX) error {
		runs.Add(1)
		_, err := tx.Exec(ctx, `INSERT INTO retry_writes (token) VALUES ('ro-2')`)
		return err
	})
	if pgerr.SQLState(err) != "25006" || runs.Load() != 1 {
		t.Errorf("a ReadOnly transaction that writes: %v after %d runs, want 25006 after 1", err, runs.Load())
	}
}
