package pgkit_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
	"github.com/shopdb/shopdb/pgkit/pgtemp"
)

// killBackends terminates the server processes of the connections whose
// application_name is app, from a connection of its own, and waits (up to
// 10 s each) until they have exited, so that their sockets are closed
// whatever the machine's load.
func killBackends(t *testing.T, url, app string) int {
	t.Helper()
	admin, err := pgkit.Open(context.Background(), url, pgkit.Config{MaxConns: 1, ApplicationName: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var n int
	if err := admin.QueryRow(context.Background(),
		"SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 10000)) FROM pg_stat_activity WHERE application_name = $1", app).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestKilledIdleConnectionsCostNoQuery: after the server terminated every
// idle connection of the pool (an admin's pg_terminate_backend, a restart,
// idle_session_timeout), the next queries all succeed: the pool finds the
// dead connections before sending anything on them. Before, each dead
// connection failed the next query on it with SQLSTATE 57P01.
func TestKilledIdleConnectionsCostNoQuery(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgkittest.URL(t, kitdb.Migrations())
	d, err := pgkit.Open(ctx, url, pgkit.Config{MaxConns: 4, ApplicationName: "victim"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var wg sync.WaitGroup
	for range 4 { // open all four connections
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = d.Exec(ctx, "SELECT pg_sleep(0.05)") }()
	}
	wg.Wait()
	if n := killBackends(t, url, "victim"); n != 4 {
		t.Fatalf("terminated %d backends, want the pool's 4", n)
	}
	time.Sleep(20 * time.Millisecond) // the server's goodbye reaches the sockets
	q := kitdb.New(d)
	for i := range 8 {
		if _, err := q.AccountList(ctx, kitdb.AccountListParams{Max: 1}); err != nil {
			t.Fatalf("query %d after the kill: %v", i, err)
		}
	}
}

// TestConnectionLostIsTyped: a transaction whose backend is terminated
// fails with one error that matches ErrConnectionLost and IsTransient, with
// no second "roll back: conn closed" line.
func TestConnectionLostIsTyped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgkittest.URL(t, kitdb.Migrations())
	d, err := pgkit.Open(ctx, url, pgkit.Config{MaxConns: 2, ApplicationName: "doomed"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	err = pgkit.WithTx(ctx, d, kitdb.New, func(q *kitdb.Queries) error {
		if _, err := q.AccountCreate(ctx, kitdb.AccountCreateParams{Name: "Lost", Team: "Write"}); err != nil {
			return err
		}
		killBackends(t, url, "doomed")
		_, err := q.AccountList(ctx, kitdb.AccountListParams{Max: 1})
		return err
	})
	if !errors.Is(err, pgerr.ErrConnectionLost) || !pgerr.IsTransient(err) {
		t.Fatalf("error %v: ErrConnectionLost %v, IsTransient %v", err, errors.Is(err, pgerr.ErrConnectionLost), pgerr.IsTransient(err))
	}
	if strings.Contains(err.Error(), "roll back") || strings.Count(err.Error(), "\n") > 0 {
		t.Fatalf("error text %q: want one line, no rollback failure", err)
	}
	if !strings.HasPrefix(err.Error(), "AccountList: ") {
		t.Fatalf("error text %q does not name the query", err)
	}
	// The pool recovers, and the write died with its transaction.
	accounts, err := kitdb.New(d).AccountList(ctx, kitdb.AccountListParams{TeamPrefix: "Write", Max: 10})
	if err != nil || len(accounts) != 0 {
		t.Fatalf("after the loss: %d accounts, %v; want 0 and no error", len(accounts), err)
	}
	// A plain network failure is typed the same way; the caller's own
	// cancellation is not a lost connection.
	if !pgerr.IsTransient(syscall.ECONNRESET) || pgerr.IsTransient(context.Canceled) {
		t.Fatal("IsTransient on raw errors")
	}
}

// TestQueryTimeoutBoundsAFrozenServer: with Config.QueryTimeout, a query
// sent with context.Background() to a server that stopped answering
// returns within the timeout instead of waiting for the server.
func TestQueryTimeoutBoundsAFrozenServer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := pgkittest.NewWithConfig(t, kitdb.Migrations(), pgkit.Config{MaxConns: 1, QueryTimeout: 300 * time.Millisecond})
	// Freeze the one backend of the pool, as a hung server would be.
	resume := freezeBackend(t, d)
	start := time.Now()
	_, err := kitdb.New(d).AccountList(ctx, kitdb.AccountListParams{Max: 1})
	took := time.Since(start)
	resume()
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || took > 3*time.Second {
		t.Fatalf("frozen server: error %v after %s; want a deadline error after about 300ms", err, took)
	}
	t.Logf("frozen server: %v after %s", err, took.Round(time.Millisecond))
}

// freezeBackend stops (SIGSTOP) the server process behind d's next
// connection, as a hung server would be, and returns the function that
// lets it go on; the test's end lets it go on too.
func freezeBackend(t *testing.T, d *pgkit.DB) (resume func()) {
	t.Helper()
	var pid int
	if err := d.QueryRow(context.Background(), "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Skipf("cannot stop the backend process (%v): the test needs to run as root or as the server's user", err)
	}
	resume = func() { syscall.Kill(pid, syscall.SIGCONT) }
	t.Cleanup(resume)
	return resume
}

// TestRestartUnderLoad: 32 goroutines write while the server is stopped
// and started again. Every write acknowledged is there afterwards, every
// failure during the outage is a typed transient error (or a full pool),
// and writes succeed again within a second of the server being back.
func TestRestartUnderLoad(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := ownServer(t)
	d, err := pgkit.Open(ctx, srv.URL(), pgkit.Config{MaxConns: 8, AcquireTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	q := kitdb.New(d)

	var (
		mu           sync.Mutex
		acked        []string
		failures     = map[string]int{}
		backAt       time.Time
		firstOKAfter time.Time
	)
	// The writers go on until 2s after the server is back, however long
	// a loaded machine takes to restart it (at most a minute).
	deadline := time.Now().Add(time.Minute)
	running := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return time.Now().Before(deadline) && (backAt.IsZero() || time.Since(backAt) < 2*time.Second)
	}
	restarted := make(chan error, 1)
	go func() {
		time.Sleep(time.Second)
		err := srv.Restart(ctx, 300*time.Millisecond)
		mu.Lock()
		backAt = time.Now()
		mu.Unlock()
		restarted <- err
	}()
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; running(); i++ {
				name := "w" + strconv.Itoa(g) + "-" + strconv.Itoa(i)
				cctx, cancel := context.WithTimeout(ctx, time.Second)
				_, err := q.AccountCreate(cctx, kitdb.AccountCreateParams{Name: "Load", Team: name})
				cancel()
				mu.Lock()
				switch {
				case err == nil:
					acked = append(acked, name)
					if !backAt.IsZero() && firstOKAfter.IsZero() {
						firstOKAfter = time.Now()
					}
				case pgerr.IsTransient(err), errors.Is(err, pgkit.ErrPoolExhausted), errors.Is(err, context.DeadlineExceeded):
					failures[kind(err)]++
				default:
					t.Errorf("untyped failure during the restart: %v", err)
				}
				mu.Unlock()
				if err != nil {
					time.Sleep(10 * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	if err := <-restarted; err != nil {
		t.Fatal(err)
	}
	var stored int
	if err := d.QueryRow(ctx, "SELECT count(*) FROM accounts WHERE team = ANY($1)", acked).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	recovery := firstOKAfter.Sub(backAt)
	t.Logf("%d writes acknowledged, %d stored; failures during the outage %v; first success %s after the server was back",
		len(acked), stored, failures, recovery.Round(time.Millisecond))
	if stored != len(acked) {
		t.Fatalf("%d acknowledged writes lost", len(acked)-stored)
	}
	if firstOKAfter.IsZero() || recovery > time.Second {
		t.Fatalf("no write succeeded within 1s of the server being back (first after %s)", recovery)
	}
}

// kind names an error's class for the test's log.
func kind(err error) string {
	switch {
	case errors.Is(err, pgkit.ErrPoolExhausted):
		return "pool exhausted"
	case errors.Is(err, pgerr.ErrConnectionLost):
		return "connection lost"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline"
	}
	return "SQLSTATE " + pgerr.SQLState(err)
}

// ownServer starts a migrated server of the test's own, for tests that
// stop, restart or replicate it, and stops it at the end.
func ownServer(t *testing.T) *pgtemp.Server {
	t.Helper()
	srv, err := pgtemp.Start(context.Background(), pgtemp.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	if err := migrateUp(context.Background(), srv.URL()); err != nil {
		t.Fatal(err)
	}
	return srv
}
