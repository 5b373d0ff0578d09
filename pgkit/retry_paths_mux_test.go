package pgkit_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
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

// muxWriteSQL is a write that takes a few milliseconds on the server, so
// that a cancel request meant for the statement before it can land on it.
const muxWriteSQL = "INSERT INTO retry_writes (token, v) SELECT $1::text, $2::int FROM pg_sleep(0.003)"

// TestRetryPathMultiplexCollateralCancel: on one multiplexed connection,
// a cancel request meant for a statement that ended by itself lands on a
// writer's statement (a collateral cancel), which the multiplexer answers
// by sending it again: first made to happen for sure (the proxy holds the
// cancel request until the writer runs), then at random, with writers
// sharing the lane with callers of slow statements who give up shortly
// after theirs was sent, some of which end just as their cancel request is
// on its way. No write runs twice, every acknowledged write is there,
// every failure is typed; the callers who gave up got their context's
// error, and cancel requests were sent.
func TestRetryPathMultiplexCollateralCancel(t *testing.T) {
	t.Parallel()
	clean, dsn, p := retrySetup(t)
	tr := newFaultTracer()
	mx := openT(t, dsn, pgkit.Config{MaxConns: 2, Multiplex: true, AcquireTimeout: 20 * time.Second,
		Tracer: tr, ApplicationName: "retry-mux"}) // one lane
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l := newLedger()

	// For sure: the held cancel reaches the server while the writer's
	// statement sleeps.
	const writeSlowly = "INSERT INTO retry_writes (token, v) SELECT $1::text, $2::int FROM pg_sleep(1)"
	errc := make(chan error, 1)
	release := heldCancel(t, ctx, p, mx, clean, "retry-mux", func() {
		go func() { errc <- l.exec(ctx, mx, writeSlowly, "collateral", 1) }()
	})
	waitRunning(t, ctx, clean, "retry-mux", writeSlowly)
	release()
	if err := <-errc; err != nil {
		t.Fatalf("the write hit by a cancel meant for another statement: %v; want it sent again and answered", err)
	}
	// At least once: the postmaster signals a backend twice for one cancel
	// request (SIGINT to the process, then to its process group), and
	// when the backend has handled the first before the second lands, the
	// second cancels the next statement too, here the resend itself: a
	// collateral cancel again, sent again. The ledger checks it ran once.
	if st := mx.MultiplexStats(); st.Resent < 1 {
		t.Fatalf("stats %+v: want the write hit by the cancel sent again", st)
	}

	// A slow caller gives up a moment after its statement was sent (the
	// tracer sees it sent): the statement is on the server or about to be,
	// never dropped unsent, so a cancel request follows whenever it is
	// still running 50 ms after it reached the head of the lane.
	const slowSQL = "SELECT $1::text, pg_sleep($2::float8)"
	type giveUp struct {
		cancel context.CancelFunc
		after  time.Duration
	}
	var giveUps sync.Map // slow token → giveUp
	tr.set(func(_ *pgx.Conn, sql, token string) {
		if g, ok := giveUps.Load(token); ok && sql == slowSQL {
			time.AfterFunc(g.(giveUp).after, g.(giveUp).cancel)
		}
	})
	var gaveUp, finished atomic.Int64
	var wg sync.WaitGroup
	for g := range 3 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 7))
			for i := range 8 {
				token := fmt.Sprintf("slow%d-%d", g, i)
				// A second: cancelled for sure. A little over 50 ms: it
				// may end while its cancel request is on its way.
				sleep := 0.050 + float64(r.IntN(60))/10000
				if i%4 == 0 {
					sleep = 1
				}
				sctx, scancel := context.WithCancel(ctx)
				giveUps.Store(token, giveUp{scancel, time.Duration(r.IntN(2)) * time.Millisecond})
				_, err := mx.Exec(sctx, slowSQL, token, sleep)
				scancel()
				switch {
				case err == nil:
					finished.Add(1)
				case errors.Is(err, context.Canceled) && ctx.Err() == nil:
					gaveUp.Add(1)
				default:
					t.Errorf("slow caller %s: %v", token, err)
				}
			}
		})
	}
	for g := range 8 {
		wg.Go(func() {
			for i := range 40 {
				if err := l.exec(ctx, mx, muxWriteSQL, fmt.Sprintf("w%d-%d", g, i), i); err != nil && !typedFailure(err) {
					t.Errorf("writer %d: %v", g, err)
				}
			}
		})
	}
	wg.Wait()
	acked, failed := l.check(t, clean)
	st := mx.MultiplexStats()
	t.Logf("%d writes acknowledged, %d failed; slow callers: %d gave up, %d finished; %d cancel requests, %d statements sent again (collateral cancels); stats %+v",
		acked, failed, gaveUp.Load(), finished.Load(), st.Cancels, st.Resent, st)
	if gaveUp.Load() == 0 || st.Cancels == 0 {
		t.Fatalf("%d callers gave up, %d cancel requests: the test did not cancel anything", gaveUp.Load(), st.Cancels)
	}
}

// TestRetryPathMultiplexReplyLost: writers pipelined on one multiplexed
// connection whose replies stop coming (the proxy holds them) after the
// server ran the statements; then the connection is reset. The statements
// in flight may have run (they did): they fail with
// pgerr.ErrConnectionLost, not safe to retry, and are not sent again;
// statements not yet written go to a new connection and succeed. No write
// runs twice.
func TestRetryPathMultiplexReplyLost(t *testing.T) {
	t.Parallel()
	clean, dsn, p := retrySetup(t)
	tr := newFaultTracer()
	mx := openT(t, dsn, pgkit.Config{MaxConns: 2, Multiplex: true, AcquireTimeout: 20 * time.Second,
		Tracer: tr, ApplicationName: "retry-mux-lost"}) // one lane
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l := newLedger()
	const trigger = "w0-3" // by then prepared on the lane
	stalled := make(chan *faultproxy.Conn, 1)
	tr.set(onceFor(p, trigger, func(pc *faultproxy.Conn, _ *pgx.Conn) {
		pc.Stall(faultproxy.ToClient)
		stalled <- pc
	}))
	var lost atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 30 {
				err := l.exec(ctx, mx, insertSQL, fmt.Sprintf("w%d-%d", g, i), i)
				if errors.Is(err, pgerr.ErrConnectionLost) {
					lost.Add(1)
				}
			}
		})
	}
	var pc *faultproxy.Conn
	select {
	case pc = <-stalled:
	case <-ctx.Done():
		t.Fatal("the trigger write never started")
	}
	waitFor(t, 20*time.Second, func() bool { return stored(ctx, clean, trigger) == 1 }) // it ran, its reply held
	pc.Reset()
	wg.Wait()
	acked, failed := l.check(t, clean)
	st := mx.MultiplexStats()
	t.Logf("%d writes acknowledged, %d failed (%d connection lost); stats %+v", acked, failed, lost.Load(), st)
	l.mu.Lock()
	err := l.outcome[trigger]
	l.mu.Unlock()
	if !errors.Is(err, pgerr.ErrConnectionLost) || pgconn.SafeToRetry(err) {
		t.Errorf("the write whose reply was lost: %v (SafeToRetry %v), want ErrConnectionLost, not safe to retry", err, pgconn.SafeToRetry(err))
	}
	if st.LanesLost == 0 || acked < 8*30-8 {
		t.Errorf("%d lanes lost, %d writes acknowledged: want the lane lost and only the writes in flight failed", st.LanesLost, acked)
	}
}

// TestRetryPathMultiplexCollateralCancelAfterCommit: a procedure that
// commits part of its work (COMMIT inside it) and is then hit by a cancel
// meant for the statement before it on the lane is not sent again: the
// part it committed would run twice. Its caller gets the cancellation
// (57014), and the row it committed is there once. Before, the
// multiplexer took every 57014 near a cancel for a statement that did not
// run, and the procedure ran again.
func TestRetryPathMultiplexCollateralCancelAfterCommit(t *testing.T) {
	t.Parallel()
	clean, dsn, p := retrySetup(t)
	if _, err := clean.Exec(context.Background(), `CREATE PROCEDURE retry_proc(tok text, pause float8) LANGUAGE plpgsql AS $$
		BEGIN
			INSERT INTO retry_writes (token, v) VALUES (tok, 1);
			COMMIT;
			PERFORM pg_sleep(pause);
		END $$`); err != nil {
		t.Fatal(err)
	}
	mx := openT(t, dsn, pgkit.Config{MaxConns: 2, Multiplex: true, AcquireTimeout: 20 * time.Second,
		ApplicationName: "retry-mux-call"}) // one lane
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l := newLedger()
	const call = "CALL retry_proc($1, $2)"
	_, err := mx.Exec(ctx, call, "call-warm", 0.0)
	l.note("call-warm", err)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	release := heldCancel(t, ctx, p, mx, clean, "retry-mux-call", func() {
		go func() {
			_, err := mx.Exec(ctx, call, "call", 1.0)
			errc <- err
		}()
	})
	waitFor(t, 20*time.Second, func() bool { return stored(ctx, clean, "call") == 1 }) // committed
	waitRunning(t, ctx, clean, "retry-mux-call", call)                                 // and sleeping
	release()
	err = <-errc
	l.note("call", err)
	l.check(t, clean)
	if pgerr.SQLState(err) != "57014" {
		t.Errorf("the procedure hit by a cancel meant for another statement after it committed: %v; want the cancellation (57014), not run again", err)
	}
	t.Logf("the procedure's caller got %v; stats %+v", err, mx.MultiplexStats())
}

// heldCancel makes a cancel request that reaches the server only when
// released, for a statement that has ended by itself by then: a caller
// gives up while its statement (a second of sleep) runs on mx's one lane
// (app is mx's ApplicationName; clean sees it run), and 50 ms later the
// multiplexer sends a cancel request, on a connection of its own, which
// the proxy p holds. start is called while the statement runs, to queue
// what is to run behind it on the lane. heldCancel returns once the cancel
// request is held; release lets it on to the server, which then cancels
// whatever the lane's backend runs.
func heldCancel(t *testing.T, ctx context.Context, p *faultproxy.Proxy, mx, clean *pgkit.DB, app string, start func()) (release func()) {
	t.Helper()
	const slow = "SELECT pg_sleep(1) -- its cancel is held"
	// Connections opened from now on have their client's bytes held; the
	// pool's go on.
	p.Stall(faultproxy.ToServer)
	open := map[*faultproxy.Conn]bool{}
	for _, c := range p.Conns() {
		c.Resume()
		open[c] = true
	}
	sctx, scancel := context.WithCancel(ctx)
	defer scancel()
	slowErr := make(chan error, 1)
	go func() {
		_, err := mx.Exec(sctx, slow)
		slowErr <- err
	}()
	waitRunning(t, ctx, clean, app, slow)
	start()
	scancel()
	if err := <-slowErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("the caller who gave up: %v, want context.Canceled", err)
	}
	waitFor(t, 10*time.Second, func() bool {
		for _, c := range p.Conns() {
			if !open[c] {
				return true // the cancel request's
			}
		}
		return false
	})
	return p.Resume
}

// waitRunning waits until a backend of app runs sql and sleeps in it.
func waitRunning(t *testing.T, ctx context.Context, clean *pgkit.DB, app, sql string) {
	t.Helper()
	waitFor(t, 20*time.Second, func() bool {
		var n int
		err := clean.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND query = $2 AND wait_event = 'PgSleep'", app, sql).Scan(&n)
		return err == nil && n == 1
	})
}

// TestRetryPathMultiplexStatementTimeoutIsNotResent: a statement the
// server cancels for its statement_timeout is not taken for one hit by a
// cancel meant for another, even just after a cancel on its lane: sent
// again it would only time out again. Before, it was resent up to 8 times
// while the lane's last cancel was under a second old.
func TestRetryPathMultiplexStatementTimeoutIsNotResent(t *testing.T) {
	t.Parallel()
	url := pgkittest.EmptyURL(t)
	clean := openT(t, url, pgkit.Config{MaxConns: 2, ApplicationName: "retry-clean"})
	const app = "retry-mux-timeout"
	mx := openT(t, url+"&statement_timeout=300", pgkit.Config{MaxConns: 2, Multiplex: true,
		AcquireTimeout: 20 * time.Second, ApplicationName: app}) // one lane, 300 ms statement_timeout
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// A caller gives up while its statement runs: the lane sends a cancel
	// request, which ends that statement.
	const gaveUp = "SELECT pg_sleep(0.25) -- given up"
	gctx, gcancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() {
		_, err := mx.Exec(gctx, gaveUp)
		errc <- err
	}()
	waitRunning(t, ctx, clean, app, gaveUp)
	gcancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("the caller who gave up: %v", err)
	}
	waitFor(t, 20*time.Second, func() bool { // its cancel has landed
		var n int
		err := clean.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND query = $2 AND state = 'active'", app, gaveUp).Scan(&n)
		return err == nil && n == 0
	})

	// At once, on the same lane, a statement runs past its timeout.
	before := mx.MultiplexStats().Resent
	_, err := mx.Exec(ctx, "SELECT pg_sleep(5) -- times out")
	if pgerr.SQLState(err) != "57014" || !strings.Contains(err.Error(), "statement timeout") {
		t.Fatalf("a statement past statement_timeout: %v, want 57014 (statement timeout)", err)
	}
	if n := mx.MultiplexStats().Resent - before; n != 0 {
		t.Errorf("the timed-out statement was sent again %d times", n)
	}
}
