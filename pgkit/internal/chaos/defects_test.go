package chaos

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgtemp"
)

// The defects TestChaos found, each reproduced on its own: small and
// deterministic. Each failed on befd9b0, the main the chaos test was
// first run against, and passes on fac0cda.

// TestMultiplexLargeResultBesideLargeArgument: a multiplexed statement
// with a large result and one with a large argument, written to the
// server together, must both be answered. The lane writes both before
// reading: the server, sending the first one's result, stops reading once
// the buffers between them are full, while the lane still writes the
// second one's argument, so both wait for ever. The callers get their
// deadline; the lane stays stuck in its write, and Close never returns.
// (Fixed by cc45c71: lanes read while a writer goroutine writes.)
// On fresh connections (buffers not yet grown by Linux) 8 MB each way is
// enough here; at 4 MB the pair stalled about 10s, then went through.
//
// The two are queued while the lane reads a slow statement's result, so
// that it takes them in one batch, and after small statements of the same
// texts, so that their moving time is under the multiplexer's "slow" mark
// (a slow statement is sent with nothing behind it).
func TestMultiplexLargeResultBesideLargeArgument(t *testing.T) {
	n := startNode(t, "server", pgtemp.Config{})
	ctx := context.Background()
	// AcquireTimeout a minute, a hang guard: on a loaded machine (load
	// average 20) a second connection was not free within the default 5 s
	// beside 16 MB each way.
	d, err := pgkit.Open(ctx, n.srv.URL(), pgkit.Config{Multiplex: true, MultiplexConns: 1, MaxConns: 2, AcquireTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	const size = 16 << 20
	for round := range 2 {
		for i := range 40 {
			tok := "s" + strconv.Itoa(round) + "." + strconv.Itoa(i)
			if _, err := payload(ctx, d, tok, 10); err != nil {
				t.Fatal(err)
			}
			if _, err := bigResult(ctx, d, tok, 10); err != nil {
				t.Fatal(err)
			}
		}
		rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		var wg sync.WaitGroup
		errs := make([]error, 3)
		for i, call := range []func() (string, error){
			func() (string, error) { return slow(rctx, d, "slow", 0.5) },
			func() (string, error) { return bigResult(rctx, d, "result", size) },
			func() (string, error) { return payload(rctx, d, "argument", size) },
		} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				wrong, err := call()
				if wrong != "" {
					err = errors.New(wrong)
				}
				errs[i] = err
			}()
			time.Sleep(50 * time.Millisecond) // in this order, while the lane reads the slow one
		}
		wg.Wait()
		cancel()
		if err := errors.Join(errs...); err != nil {
			t.Errorf("round %d, %d MB each way: %v", round, size>>20, err)
			break
		}
	}
	closed := make(chan struct{})
	go func() { d.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Errorf("Close did not return within 5s; stuck:\n%s", stacksOf("pgkit.(*lane)"))
	}
}

// TestQueryTimeoutKeepsErrorsTyped: with Config.QueryTimeout and a
// caller's context without deadline, a query whose connection is lost
// must fail with pgerr.ErrConnectionLost (and pgerr.IsTransient), not
// context.Canceled: when pgkit cancels the timeout's context (its rows
// are done) before the error is mapped, pgerr.Map records the context as
// cancelled, which hides the lost connection from errors.Is and
// IsTransient, so a caller would not retry what it should. Both ways a
// pooled query can lose its connection are checked: at connecting (on
// befd9b0 DB.QueryStream cancelled, then mapped), and with the query
// sent, the error coming from the rows (mappedRows.done cancels before
// Err maps). On cc45c71 the first passes and the second
// fails.
func TestQueryTimeoutKeepsErrorsTyped(t *testing.T) {
	n := startNode(t, "server", pgtemp.Config{})
	ctx := context.Background()
	d, err := pgkit.Open(ctx, n.url("typed"), pgkit.Config{MaxConns: 1, QueryTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	typed := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, pgerr.ErrConnectionLost) || !pgerr.IsTransient(err) || errors.Is(err, context.Canceled) {
			t.Errorf("%s: %v; ErrConnectionLost %v, IsTransient %v, context.Canceled %v; want true, true, false",
				what, err, errors.Is(err, pgerr.ErrConnectionLost), pgerr.IsTransient(err), errors.Is(err, context.Canceled))
		}
	}

	// The query sent, its backend terminated.
	var got string
	done := make(chan error, 1)
	go func() { done <- d.QueryRow(ctx, sqlSlow, "tok", 30.0).Scan(&got) }()
	var pids []int
	if !waitFor(10*time.Second, func() bool { pids, err = n.backends(ctx, "typed", true); return err == nil && len(pids) == 1 }) {
		t.Fatalf("the query's backend did not show as active: %v %v", pids, err)
	}
	if err := n.admin(ctx, func(c *pgx.Conn) error {
		_, err := c.Exec(ctx, "SELECT pg_terminate_backend($1)", pids[0])
		return err
	}); err != nil {
		t.Fatal(err)
	}
	typed("QueryRow whose backend was terminated", <-done)

	// The connection refused.
	n.proxy.Refuse(true)
	n.proxy.Reset()
	typed("QueryRow on a refused connection", d.QueryRow(ctx, sqlEcho, "tok").Scan(&got))
	_, err = d.Exec(ctx, sqlEcho, "tok")
	typed("Exec on a refused connection", err)
}

// TestStalePlanAfterColumnTypeChange: after a column's type changes
// (a migration), a statement prepared before must still run. pgx's
// statement cache drops the stale statement but returns the server's
// "cached plan must not change result type" (0A000) to the caller, once
// per connection, and pgkit passed it on: an error no pgerr classifier
// recognises, for a statement that had no effect and could be prepared
// again and resent. On befd9b0 it failed on a pool (the multiplexer
// re-prepared); on cc45c71 autocommit statements were rerun, but inside
// a transaction, pooled or multiplexed DB alike, the 0A000 aborted the
// transaction and reached WithTx's caller (WithTx reran only 40001 and
// 40P01).
func TestStalePlanAfterColumnTypeChange(t *testing.T) {
	n := startNode(t, "server", pgtemp.Config{})
	ctx := context.Background()
	if err := n.admin(ctx, func(c *pgx.Conn) error { _, err := c.Exec(ctx, schema); return err }); err != nil {
		t.Fatal(err)
	}
	alter := func(typ string) {
		t.Helper()
		if err := n.admin(ctx, func(c *pgx.Conn) error {
			_, err := c.Exec(ctx, "ALTER TABLE chaos_writes ALTER COLUMN token TYPE "+typ)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	for _, multiplex := range []bool{false, true} {
		// One connection for the statements outside a transaction (the
		// pool's, or the multiplexer's) and one for transactions: each
		// statement runs again on the connection that prepared it.
		cfg := pgkit.Config{MaxConns: 1}
		if multiplex {
			cfg = pgkit.Config{MaxConns: 2, Multiplex: true, MultiplexConns: 1}
		}
		d, err := pgkit.Open(ctx, n.srv.URL(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		insert := func(q pgkit.DBTX, tok string) error {
			var got string
			return q.QueryRow(ctx, sqlWriteRet, "stale", 1, 1, tok).Scan(&got)
		}
		if err := insert(d, "before"); err != nil {
			t.Fatal(err)
		}
		alter("varchar(200)")
		if err := insert(d, "after"); err != nil {
			t.Errorf("multiplex %v: the statement prepared before the column's type changed: %v", multiplex, err)
		}
		if err := pgkit.WithTx(ctx, d, self, func(q pgkit.DBTX) error { return insert(q, "in a transaction, before") }); err != nil {
			t.Fatal(err)
		}
		alter("text")
		if err := pgkit.WithTx(ctx, d, self, func(q pgkit.DBTX) error { return insert(q, "in a transaction, after") }); err != nil {
			t.Errorf("multiplex %v: in a transaction, the statement prepared before the column's type changed: %v", multiplex, err)
		}
		d.Close()
	}
}

// TestWithTxReturnsByItsDeadlineOnAFrozenServer: a transaction whose
// context ends while the server does not answer must return about then,
// as a statement does. On befd9b0 and cc45c71 WithTx rolled back with
// the context's cancellation removed (context.WithoutCancel) and no bound
// of its own, so when the context ended between statements (no statement
// in flight for pgx to abort), the ROLLBACK waited for the server for as
// long as it was frozen. TestChaos saw transactions return 2.2s after
// their context ended on a loaded machine.
func TestWithTxReturnsByItsDeadlineOnAFrozenServer(t *testing.T) {
	n := startNode(t, "server", pgtemp.Config{})
	ctx := context.Background()
	d, err := pgkit.Open(ctx, n.srv.URL(), pgkit.Config{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	const frozenFor = 8 * time.Second
	tctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	thaw := func() {}
	var latest *time.Timer
	start := time.Now()
	err = pgkit.WithTx(tctx, d, self, func(q pgkit.DBTX) error {
		if _, err := echo(tctx, q, "in the transaction"); err != nil {
			return err
		}
		var err error
		if thaw, err = n.freeze(); err != nil {
			return err
		}
		latest = time.AfterFunc(frozenFor, thaw)
		<-tctx.Done() // the caller's deadline passes while the server is frozen
		return tctx.Err()
	})
	took := time.Since(start)
	if latest != nil {
		latest.Stop()
	}
	thaw()
	if !errors.Is(err, context.DeadlineExceeded) || took > 500*time.Millisecond+hangSlack {
		t.Errorf("WithTx returned %v after %s, the server frozen for up to %s; want its deadline's error by %s",
			err, took.Round(time.Millisecond), frozenFor, 500*time.Millisecond+hangSlack)
	}
}
