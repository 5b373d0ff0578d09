package pgkit_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
	"github.com/shopdb/shopdb/pgkit/pgtemp"
)

// hangGuard is how long a call that must not hang is given before the
// test calls it hung: far more than any bound under test, so that a
// loaded machine cannot reach it.
const hangGuard = time.Minute

// returns runs f, which talks to a frozen server, in a goroutine and
// returns its error. When f has not returned within hangGuard the test
// fails, the server is let go on (resume) and f's error is still returned
// once it comes, so that the test's other cases run and its pools close.
func returns(t *testing.T, what string, resume func(), f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(hangGuard):
		t.Errorf("%s still waited for the frozen server after %s", what, hangGuard)
		resume()
		return <-done
	}
}

// freezeServer stops (SIGSTOP) srv's postmaster and, with backends, every
// process it started, as a hung server host would be, and returns the
// function that lets them go on (SIGCONT); the test's end calls it too.
// Without backends, running sessions still answer but no new connection
// or cancel request is served. It may run outside the test's goroutine: a
// failure is reported with t.Error.
func freezeServer(t *testing.T, srv *pgtemp.Server, backends bool) (resume func()) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(srv.Dir(), "data", "postmaster.pid"))
	first, _, _ := strings.Cut(string(b), "\n")
	postmaster, perr := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || perr != nil {
		t.Errorf("the server's postmaster.pid: %v", errors.Join(err, perr))
		return func() {}
	}
	pids := []int{postmaster} // first, so that it starts no more processes
	if backends {
		pids = append(pids, childrenOf(t, postmaster)...)
	}
	var stopped []int
	resume = func() {
		for _, pid := range stopped {
			_ = syscall.Kill(pid, syscall.SIGCONT)
		}
		stopped = nil
	}
	t.Cleanup(resume)
	for _, pid := range pids {
		switch err := syscall.Kill(pid, syscall.SIGSTOP); {
		case errors.Is(err, syscall.ESRCH) && pid != postmaster:
			continue // a session that has just ended
		case err != nil:
			t.Errorf("stop server process %d: %v", pid, err)
			return resume
		}
		stopped = append(stopped, pid)
	}
	return resume
}

// childrenOf lists the processes whose parent is pid.
func childrenOf(t *testing.T, pid int) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Error(err)
		return nil
	}
	var kids []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // it exited
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
		if f := strings.Fields(rest); len(f) > 1 && f[1] == strconv.Itoa(pid) {
			kids = append(kids, child)
		}
	}
	if len(kids) == 0 {
		t.Errorf("no processes of postmaster %d found", pid)
	}
	return kids
}

// TestQueryTimeoutBoundsPingCopyToAndBatches: with Config.QueryTimeout,
// Ping, CopyTo and SendBatch with context.Background() on a frozen server
// return deadline errors. Before, they waited for as long as the server
// stayed frozen.
func TestQueryTimeoutBoundsPingCopyToAndBatches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// What runs while the server is not frozen has a deadline of its own,
	// so that the timeout under test cannot cut it short on a slow machine.
	live, cancel := context.WithTimeout(ctx, hangGuard)
	defer cancel()
	srv := ownServer(t)
	// AcquireTimeout < 0: only QueryTimeout can bound the wait.
	d, err := pgkit.Open(ctx, srv.URL(), pgkit.Config{MaxConns: 1, QueryTimeout: 300 * time.Millisecond, AcquireTimeout: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, c := range []struct {
		name string
		f    func(context.Context) error
	}{
		{"Ping", d.Ping},
		{"CopyTo", func(ctx context.Context) error {
			_, err := pgkit.CopyTo(ctx, d, io.Discard, "COPY (SELECT 1) TO STDOUT")
			return err
		}},
		{"SendBatch", func(ctx context.Context) error {
			b := &pgx.Batch{}
			b.Queue("SELECT 1")
			br := d.SendBatch(ctx, b)
			_, err := br.Exec()
			return errors.Join(err, br.Close())
		}},
	} {
		if err := c.f(live); err != nil {
			t.Fatal(err)
		}
		resume := freezeServer(t, srv, true)
		err := returns(t, c.name, resume, func() error { return c.f(ctx) })
		resume()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s on a frozen server: %v, want a deadline error", c.name, err)
		}
	}
	if err := d.Ping(live); err != nil {
		t.Fatalf("Ping once the server is back: %v", err)
	}
}

// TestQueryTimeoutBoundsTransactions: the statements of a transaction
// begun on a DB with Config.QueryTimeout, run with context.Background()
// on a frozen server, return deadline errors: a query, a Pipeline inside
// the transaction, the commit; and WithTx's rollback returns, so that
// WithTx returns fn's error. Before, each of them waited for as long as
// the server stayed frozen.
func TestQueryTimeoutBoundsTransactions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	live, cancel := context.WithTimeout(ctx, hangGuard) // as in TestQueryTimeoutBoundsPingCopyToAndBatches
	defer cancel()
	srv := ownServer(t)
	d, err := pgkit.Open(ctx, srv.URL(), pgkit.Config{MaxConns: 2, QueryTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	list := func(ctx context.Context, q *kitdb.Queries) error {
		_, err := q.AccountList(ctx, kitdb.AccountListParams{Max: 1})
		return err
	}
	undo := errors.New("undo")
	for _, c := range []struct {
		name string
		fn   func(q *kitdb.Queries) error // runs with the server frozen
		want error
	}{
		{"a query", func(q *kitdb.Queries) error { return list(ctx, q) }, context.DeadlineExceeded},
		{"Pipeline", func(q *kitdb.Queries) error { return pgkit.Pipeline(ctx, q.DB(), kitdb.New, list, list) }, context.DeadlineExceeded},
		{"the commit", func(*kitdb.Queries) error { return nil }, context.DeadlineExceeded},
		{"the rollback", func(*kitdb.Queries) error { return undo }, undo}, // the rollback's own failure is not reported
	} {
		var frozen struct {
			sync.Mutex
			resume func()
		}
		resume := func() {
			frozen.Lock()
			defer frozen.Unlock()
			if frozen.resume != nil {
				frozen.resume()
			}
		}
		err := returns(t, "WithTx with "+c.name, resume, func() error {
			return pgkit.WithTx(ctx, d, kitdb.New, func(q *kitdb.Queries) error {
				if err := list(live, q); err != nil { // the transaction has begun
					return err
				}
				frozen.Lock()
				frozen.resume = freezeServer(t, srv, true)
				frozen.Unlock()
				return c.fn(q)
			})
		})
		resume()
		if !errors.Is(err, c.want) {
			t.Errorf("WithTx with %s on a frozen server: %v, want %v", c.name, err, c.want)
		}
	}
	// The pool works once the server is back.
	if err := list(live, kitdb.New(d)); err != nil {
		t.Fatal(err)
	}
}

// TestQueryTimeoutBoundsReplicatedTransactions: a transaction begun on a
// Replicated bounds its statements by QueryTimeout, as one begun on a
// DB does (it did not: they ran unbounded).
func TestQueryTimeoutBoundsReplicatedTransactions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, err := pgkit.OpenReplicated(ctx, pgkittest.EmptyURL(t), nil, pgkit.Config{MaxConns: 2, QueryTimeout: 200 * time.Millisecond}, pgkit.ReplicaConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	err = pgkit.WithTx(ctx, r, func(x pgkit.DBTX) pgkit.DBTX { return x }, func(tx pgkit.DBTX) error {
		_, err := tx.Exec(ctx, "SELECT pg_sleep(30)")
		return err
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a 30 s statement in a Replicated's transaction with QueryTimeout 200ms: %v, want context.DeadlineExceeded", err)
	}
}
