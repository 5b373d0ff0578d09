package pgkit_test

// One test per path by which pgkit runs a statement again (executor.go's
// reruns.may, the multiplexer's resends, Replicated's reruns on the
// primary), each with its fault injected at the moment that matters. Each
// write carries a token into retry_writes, which has no constraint on it,
// and the ledger then checks on a clean connection that no write ran
// twice, that every acknowledged write is there, and that every failure
// is typed (retry_helpers_test.go).

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/faultproxy"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// openT opens a DB on dsn with cfg, closed at the test's end.
func openT(t *testing.T, dsn string, cfg pgkit.Config) *pgkit.DB {
	t.Helper()
	d, err := pgkit.Open(context.Background(), dsn, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d
}

// retrySetup makes a fresh database with retry_writes, a clean pool
// straight to it, and a faultproxy in front of its server: the DSN through
// the proxy for the DB under test.
func retrySetup(t *testing.T) (clean *pgkit.DB, dsn string, p *faultproxy.Proxy) {
	t.Helper()
	url := pgkittest.EmptyURL(t)
	clean = openT(t, url, pgkit.Config{MaxConns: 2, ApplicationName: "retry-clean"})
	createRetryTable(t, clean)
	dsn, p = proxied(t, url)
	return clean, dsn, p
}

// TestRetryPathPoolDeadConnection: a write whose pooled connection is dead
// before any byte of it is written runs once, on another connection, and
// succeeds; on Exec and on the Query path (INSERT … RETURNING through
// QueryRow). Two ways: (1) every idle connection of the pool was reset
// while idle (a middlebox or proxy dropping them): none may cost a write,
// as the executor replaces only one dead connection per statement; (2) the
// connection is reset after the pool handed it out, just before the
// statement is written (the tracer's hook): the executor's one rerun
// (reruns.may, pgconn.SafeToRetry), with the statement prepared on the
// connection already or not.
func TestRetryPathPoolDeadConnection(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	clean, dsn, p := retrySetup(t)
	tr := newFaultTracer()
	d := openT(t, dsn, pgkit.Config{MaxConns: 4, Tracer: tr, ApplicationName: "retry-dead"})
	l := newLedger()

	// (1) Four idle connections, both statements prepared on each, all
	// reset.
	var socks []net.Conn
	var held []interface{ Release() }
	for i := range 4 {
		c, err := d.Pool().Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.exec(ctx, c, insertSQL, fmt.Sprintf("warm-exec-%d", i), i); err != nil {
			t.Fatal(err)
		}
		if err := l.queryRow(ctx, c, returningSQL, fmt.Sprintf("warm-query-%d", i), i); err != nil {
			t.Fatal(err)
		}
		socks = append(socks, c.Conn().PgConn().Conn())
		held = append(held, c)
	}
	for _, c := range held {
		c.Release()
	}
	if n := p.Reset(); n != 4 {
		t.Fatalf("reset %d connections, want the pool's 4", n)
	}
	for _, s := range socks {
		if err := waitSocketClosed(s); err != nil {
			t.Fatal(err)
		}
	}
	// Idle as the pool sees it: a connection taken again within a
	// millisecond of its release is handed out without a look at its
	// socket (liveness.go, peekIdle), as a busy pool's are.
	time.Sleep(10 * time.Millisecond)
	for i := range 8 {
		var err error
		if i%2 == 0 {
			err = l.exec(ctx, d, insertSQL, fmt.Sprintf("idle-reset-%d", i), i)
		} else {
			err = l.queryRow(ctx, d, returningSQL, fmt.Sprintf("idle-reset-%d", i), i)
		}
		if err != nil {
			t.Errorf("write %d after every idle connection was reset: %v", i, err)
		}
	}

	// (2) Reset after the pool handed the connection out, before the
	// statement is written. A variant of the SQL text is not prepared on
	// the connection yet: pgx prepares it first.
	for _, c := range []struct {
		name  string
		query bool
		sql   string
	}{
		{"exec-prepared", false, insertSQL},
		{"query-prepared", true, returningSQL},
		{"exec-unprepared", false, insertSQL + " -- unprepared"},
		{"query-unprepared", true, returningSQL + " -- unprepared"},
	} {
		// Prepared: on the connection the pool hands out next.
		if err := l.exec(ctx, d, insertSQL, "before-"+c.name, 0); err != nil {
			t.Fatal(err)
		}
		if err := l.queryRow(ctx, d, returningSQL, "before-query-"+c.name, 0); err != nil {
			t.Fatal(err)
		}
		token := "dead-" + c.name
		tr.set(onceFor(p, token, func(pc *faultproxy.Conn, conn *pgx.Conn) {
			if err := resetAndWait(pc, conn); err != nil {
				t.Error(err)
			}
		}))
		var err error
		if c.query {
			err = l.queryRow(ctx, d, c.sql, token, 1)
		} else {
			err = l.exec(ctx, d, c.sql, token, 1)
		}
		tr.set(nil)
		if err != nil {
			t.Errorf("%s: connection reset before the write: %v (SafeToRetry %v); want it run on another connection", c.name, err, pgconn.SafeToRetry(err))
		}
		if n := tr.startsOf(token); n != 2 {
			t.Errorf("%s: the statement was started %d times, want 2: once on the dead connection, once on another", c.name, n)
		}
	}
	acked, failed := l.check(t, clean)
	t.Logf("%d writes acknowledged, %d failed; proxy %+v; pool %+v", acked, failed, p.Stats(), d.Stats())
}

// TestRetryPathPoolReplyLost: a write that reached the server and ran,
// whose reply never came back (the proxy holds it, then resets the
// connection), fails with pgerr.ErrConnectionLost, not safe to retry, and
// is not run again: it is there once. On Exec and on the Query path.
func TestRetryPathPoolReplyLost(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	clean, dsn, p := retrySetup(t)
	tr := newFaultTracer()
	d := openT(t, dsn, pgkit.Config{MaxConns: 1, Tracer: tr, ApplicationName: "retry-lost", QueryTimeout: 30 * time.Second})
	l := newLedger()
	for _, query := range []bool{false, true} {
		name := map[bool]string{false: "exec", true: "query"}[query]
		// Both statements prepared on the one connection: the write goes
		// out whole (Bind, Execute, Sync) and runs.
		if err := l.exec(ctx, d, insertSQL, "warm-exec-"+name, 0); err != nil {
			t.Fatal(err)
		}
		if err := l.queryRow(ctx, d, returningSQL, "warm-query-"+name, 0); err != nil {
			t.Fatal(err)
		}
		token := "lost-" + name
		err := loseReply(t, ctx, tr, p, clean, token, func() error {
			if query {
				return l.queryRow(ctx, d, returningSQL, token, 1)
			}
			return l.exec(ctx, d, insertSQL, token, 1)
		})
		if !errors.Is(err, pgerr.ErrConnectionLost) || pgconn.SafeToRetry(err) {
			t.Errorf("%s: reply lost after the write ran: %v (SafeToRetry %v); want ErrConnectionLost, not safe to retry", name, err, pgconn.SafeToRetry(err))
		}
		if n := tr.startsOf(token); n != 1 {
			t.Errorf("%s: the write was started %d times, want once", name, n)
		}
	}
	acked, failed := l.check(t, clean)
	t.Logf("%d writes acknowledged, %d failed", acked, failed)
}

// loseReply runs write, which writes token, and breaks it: as token's
// statement starts, the proxy p stops passing the server's bytes on its
// connection (the request still reaches the server); once the write is
// stored (seen on clean: it ran and committed) the connection is reset.
// It returns write's error.
func loseReply(t *testing.T, ctx context.Context, tr *faultTracer, p *faultproxy.Proxy, clean *pgkit.DB, token string, write func() error) error {
	t.Helper()
	sent := make(chan *faultproxy.Conn, 1)
	tr.set(onceFor(p, token, func(pc *faultproxy.Conn, _ *pgx.Conn) {
		pc.Stall(faultproxy.ToClient)
		sent <- pc
	}))
	defer tr.set(nil)
	errc := make(chan error, 1)
	go func() { errc <- write() }()
	var pc *faultproxy.Conn
	select {
	case pc = <-sent:
	case err := <-errc:
		t.Fatalf("%s: the write ended (%v) before the fault", token, err)
	}
	waitFor(t, 20*time.Second, func() bool { return stored(ctx, clean, token) == 1 })
	pc.Reset()
	return <-errc
}

// stored is how many rows of token retry_writes holds (-1 on error).
func stored(ctx context.Context, clean *pgkit.DB, token string) int {
	var n int
	if err := clean.QueryRow(ctx, "SELECT count(*) FROM retry_writes WHERE token = $1", token).Scan(&n); err != nil {
		return -1
	}
	return n
}

// TestRetryPathStalePlan: writes with RETURNING, pooled and multiplexed,
// Exec and QueryRow, run while the returned column changes type (ALTER …
// TYPE) under them: the server refuses their prepared plans as stale
// (0A000) and pgkit runs them again, as it may, since a refused statement
// did not run. Every write is acknowledged, is there exactly once and
// returns its own value; no caller sees 0A000; and the refusals did happen
// (the pool's tracer saw them, the multiplexer counts its resends).
func TestRetryPathStalePlan(t *testing.T) {
	t.Parallel()
	url := pgkittest.EmptyURL(t)
	clean := openT(t, url, pgkit.Config{MaxConns: 2, ApplicationName: "retry-clean"})
	createRetryTable(t, clean)
	tr := newFaultTracer()
	pool := openT(t, url, pgkit.Config{MaxConns: 4, Tracer: tr, ApplicationName: "retry-stale-pool"})
	mx := openT(t, url, pgkit.Config{MaxConns: 3, MultiplexConns: 2, Multiplex: true, AcquireTimeout: 20 * time.Second,
		ApplicationName: "retry-stale-mux"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const sql = "INSERT INTO retry_writes (token, v) VALUES ($1, $2::int) RETURNING v"
	l := newLedger()
	var stale atomic.Int64
	var done [12]atomic.Int64 // writes per writer
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range done {
		db := map[bool]*pgkit.DB{false: pool, true: mx}[w%2 == 1]
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				token := fmt.Sprintf("s%d-%d", w, i)
				var err error
				if w%4 < 2 {
					var got any
					err = db.QueryRow(ctx, sql, token, i).Scan(&got)
					if err == nil && fmt.Sprint(got) != strconv.Itoa(i) {
						err = fmt.Errorf("%s returned %v (%T), want %d", token, got, got, i)
					}
				} else {
					var tag pgconn.CommandTag
					tag, err = db.Exec(ctx, sql, token, i)
					if err == nil && tag.RowsAffected() != 1 {
						err = fmt.Errorf("%s: %d rows", token, tag.RowsAffected())
					}
				}
				l.note(token, err)
				if pgerr.SQLState(err) == "0A000" {
					stale.Add(1)
				}
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				done[w].Add(1)
			}
		})
	}
	// Each writer writes a few times before each change and after it: each
	// connection has the statement prepared, and meets it stale.
	progress := func() {
		var base [len(done)]int64
		for w := range done {
			base[w] = done[w].Load()
		}
		waitFor(t, 30*time.Second, func() bool {
			for w := range done {
				if done[w].Load() < base[w]+5 && !t.Failed() {
					return false
				}
			}
			return true
		})
	}
	progress()
	for _, typ := range []string{"bigint", "text", "int"} {
		if _, err := clean.Exec(ctx, "ALTER TABLE retry_writes ALTER v TYPE "+typ+" USING v::"+typ); err != nil {
			t.Fatal(err)
		}
		progress()
	}
	close(stop)
	wg.Wait()
	acked, failed := l.check(t, clean)
	st := mx.MultiplexStats()
	t.Logf("%d writes acknowledged, %d failed; stale plans met: %d pooled (the tracer's count), %d multiplexed (resends)", acked, failed, tr.staleSeen(), st.Resent)
	if failed != 0 || stale.Load() != 0 {
		t.Errorf("%d writes failed, %d with 0A000: want none", failed, stale.Load())
	}
	if tr.staleSeen() == 0 || st.Resent == 0 {
		t.Errorf("stale plans met: %d pooled, %d multiplexed; want some of each", tr.staleSeen(), st.Resent)
	}
}
