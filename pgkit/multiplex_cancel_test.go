package pgkit_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// TestMultiplexCancellationStorm: callers with random deadlines of 0–5 ms,
// some of them on statements that sleep, mixed with callers whose deadline
// is far off (one in eight, so that answers arrive however loaded the
// machine: CI once saw all 1,800 short deadlines expire); every result that
// arrives is the caller's own, every other is the caller's context error at
// once, and afterwards every connection still answers correctly.
func TestMultiplexCancellationStorm(t *testing.T) {
	t.Parallel()
	mx, plain, _ := muxDB(t, 3, 0)
	var wg sync.WaitGroup
	var ok, cancelled atomic.Int64
	var wrong atomic.Int64
	for g := range 60 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 11))
			for i := range 30 {
				token := fmt.Sprintf("s%d-%d", g, i)
				deadline := time.Duration(r.IntN(5000)) * time.Microsecond
				if i%8 == g%8 {
					deadline = time.Minute
				}
				ctx, cancel := context.WithTimeout(context.Background(), deadline)
				sleep := 0.0
				if r.IntN(40) == 0 {
					sleep = 0.03
				}
				start := time.Now()
				var got string
				err := mx.QueryRow(ctx, "SELECT $1::text FROM pg_sleep($2::float8)", token, sleep).Scan(&got)
				waited := time.Since(start)
				cancel()
				switch {
				case err == nil && got == token:
					ok.Add(1)
				case err == nil:
					if wrong.Add(1) <= 5 {
						t.Errorf("%s got %q: a foreign row", token, got)
					}
				case errors.Is(err, context.DeadlineExceeded):
					cancelled.Add(1)
					if waited > time.Second {
						t.Errorf("%s: the deadline error came %s late", token, waited)
					}
				default:
					if wrong.Add(1) <= 5 {
						t.Errorf("%s: %v", token, err)
					}
				}
			}
		})
	}
	wg.Wait()
	t.Logf("%d answered, %d cancelled; stats %+v", ok.Load(), cancelled.Load(), mx.MultiplexStats())
	if cancelled.Load() == 0 || ok.Load() == 0 {
		t.Fatalf("the storm did not mix answers (%d) and cancellations (%d)", ok.Load(), cancelled.Load())
	}
	// Every connection healthy: many concurrent statements after the storm,
	// all answered with their own values.
	ctx := context.Background()
	var after sync.WaitGroup
	for i := range 200 {
		after.Go(func() {
			var n int
			if err := mx.QueryRow(ctx, "SELECT $1::int", i).Scan(&n); err != nil || n != i {
				t.Errorf("after the storm: %d, %v", n, err)
			}
		})
	}
	after.Wait()
	if lost := mx.MultiplexStats().LanesLost; lost != 0 {
		t.Errorf("%d connections were closed: the cancels should have kept them", lost)
	}
	// Nothing left running on the server for callers that left.
	waitFor(t, 5*time.Second, func() bool {
		var running int
		err := plain.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'mux' AND datname = current_database() AND state = 'active'").Scan(&running)
		return err == nil && running == 0
	})
}

// TestMultiplexAbandonedSlowQueryIsCancelled: a caller leaves a 30 s
// statement; it gets its error at once, the server stops the statement,
// and the statements queued behind it on the same connection are answered
// (not failed, not lost), on a connection that stays open.
func TestMultiplexAbandonedSlowQueryIsCancelled(t *testing.T) {
	t.Parallel()
	mx, plain, _ := muxDB(t, 1, 0)
	bg := context.Background()
	ctx, cancel := context.WithCancel(bg)
	slow := make(chan error, 1)
	go func() {
		_, err := mx.Exec(ctx, "SELECT pg_sleep(30)")
		slow <- err
	}()
	waitFor(t, 5*time.Second, func() bool {
		var n int
		_ = plain.QueryRow(bg, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'mux' AND datname = current_database() AND query LIKE '%pg_sleep(30)%' AND state = 'active'").Scan(&n)
		return n == 1
	})
	// Queue statements behind it on the one connection.
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			var n int
			if err := mx.QueryRow(bg, "SELECT $1::int + 1", i).Scan(&n); err != nil || n != i+1 {
				t.Errorf("statement behind the abandoned one: %d, %v", n, err)
			}
		})
	}
	time.Sleep(20 * time.Millisecond)
	start := time.Now()
	cancel()
	if err := <-slow; !errors.Is(err, context.Canceled) {
		t.Errorf("abandoned statement: %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("the caller waited %s for its own cancellation", d)
	}
	wg.Wait()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the statements behind took %s: the slow one was not cancelled on the server", d)
	}
	st := mx.MultiplexStats()
	if st.Cancels == 0 || st.LanesLost != 0 {
		t.Errorf("stats %+v: want a cancel request and no lost connection", st)
	}
}

// TestMultiplexKilledBackend: the server terminates one multiplexed
// connection's backend while statements are in flight on every
// connection. Only statements of that connection fail, each with a typed
// connection-lost error; the others are answered, and the DB goes on.
func TestMultiplexKilledBackend(t *testing.T) {
	t.Parallel()
	mx, plain, _ := muxDB(t, 4, 0)
	bg := context.Background()
	var wg sync.WaitGroup
	var okN, lostN atomic.Int64
	started := make(chan struct{})
	for i := range 40 {
		wg.Go(func() {
			if i == 20 {
				close(started)
			}
			var n int
			err := mx.QueryRow(bg, "SELECT $1::int FROM pg_sleep(0.2)", i).Scan(&n)
			switch {
			case err == nil && n == i:
				okN.Add(1)
			case errors.Is(err, pgerr.ErrConnectionLost):
				lostN.Add(1)
			default:
				t.Errorf("statement %d: %d, %v", i, n, err)
			}
		})
	}
	<-started
	// Kill one of the four backends once it is busy: in a statement's
	// sleep (wait_event PgSleep), not merely 'active', which a backend
	// that has sent its last result still shows for a moment (on a loaded
	// machine the kill once hit such a lane, and no statement saw it).
	var killed int
	waitFor(t, 5*time.Second, func() bool {
		err := plain.QueryRow(bg, `SELECT count(pg_terminate_backend(pid)) FROM (
			SELECT pid FROM pg_stat_activity WHERE application_name = 'mux' AND datname = current_database() AND state = 'active'
				AND wait_event = 'PgSleep' ORDER BY pid LIMIT 1) a`).Scan(&killed)
		return err == nil && killed == 1
	})
	wg.Wait()
	t.Logf("%d answered, %d lost; stats %+v", okN.Load(), lostN.Load(), mx.MultiplexStats())
	if lostN.Load() == 0 {
		t.Error("no statement saw the killed connection")
	}
	if lostN.Load() >= 20 {
		t.Errorf("%d of 40 statements lost: more than the killed connection carried", lostN.Load())
	}
	if okN.Load() < 20 {
		t.Errorf("only %d answered: the other connections' statements failed too", okN.Load())
	}
	var n int
	if err := mx.QueryRow(bg, "SELECT 42").Scan(&n); err != nil || n != 42 {
		t.Errorf("after the kill: %d, %v", n, err)
	}
}

// TestMultiplexSlowStatementDoesNotBlockOthers: a statement known to be
// slow (it ran slow before) is sent with nothing behind it on its
// connection, so quick statements never wait for it, even with every
// lane busy. Under a steady load of quick statements from 32 goroutines,
// the slow statement is sent and then held on the server by an advisory
// lock the test keeps until every goroutine has finished 50 more quick
// statements: one pipelined behind the slow statement could not finish
// before the lock goes, so the check is causal, with no latency bound
// (the 2 min wait only turns such a hang into a failure). (With the
// statement not known as slow, quick ones are pipelined behind it and
// this fails; BenchmarkMultiplexHeadOfLine measures that tail.)
func TestMultiplexSlowStatementDoesNotBlockOthers(t *testing.T) {
	t.Parallel()
	mx, plain, _ := muxDB(t, 2, 0) // 2 lanes
	ctx := context.Background()
	const slow = "SELECT pg_sleep(0.3), pg_advisory_xact_lock_shared(4242) /* known slow */"
	for range 2 { // learned: a moving average over its runs
		if _, err := mx.Exec(ctx, slow); err != nil {
			t.Fatal(err)
		}
	}
	holder, err := plain.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Release()
	if _, err := holder.Exec(ctx, "SELECT pg_advisory_lock(4242)"); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var done [32]atomic.Int64 // quick statements answered, per goroutine
	for g := range done {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var n int
				if err := mx.QueryRow(ctx, "SELECT $1::int", g*1000000+i).Scan(&n); err != nil || n != g*1000000+i {
					t.Errorf("quick statement: %d, %v", n, err)
					return
				}
				done[g].Add(1)
			}
		})
	}
	waitFor(t, 2*time.Minute, func() bool { return done[0].Load() > 20 })
	slowDone := make(chan error, 1)
	go func() { _, err := mx.Exec(ctx, slow); slowDone <- err }()
	waitFor(t, 2*time.Minute, func() bool { // on the server, waiting for the lock
		var n int
		err := plain.QueryRow(ctx, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").Scan(&n)
		return err == nil && n == 1
	})
	var base [32]int64
	for g := range done {
		base[g] = done[g].Load()
	}
	deadline := time.Now().Add(2 * time.Minute)
	for g := range done {
		for done[g].Load() < base[g]+50 && !t.Failed() {
			if time.Now().After(deadline) {
				t.Errorf("goroutine %d answered %d quick statements while the slow one was held, not 50: one waits behind it", g, done[g].Load()-base[g])
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	select {
	case err := <-slowDone:
		t.Errorf("the slow statement returned (%v) before its lock was released", err)
	default:
	}
	if _, err := holder.Exec(ctx, "SELECT pg_advisory_unlock(4242)"); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	if err := <-slowDone; err != nil {
		t.Fatalf("the slow statement after the lock went: %v", err)
	}
}

// TestMultiplexStalePreparedStatement: a schema change that alters a
// prepared statement's result columns makes the server refuse the cached
// plan (0A000); the statement is prepared again and answered, and the
// caller never sees the refusal. The refusal needs the statement to come
// back to the connection that prepared it; an idle lane gives its
// connection back after 20 ms, which a loaded machine can exceed between
// the two reads, so the case is tried until both reads ran on one backend.
func TestMultiplexStalePreparedStatement(t *testing.T) {
	t.Parallel()
	mx, plain, _ := muxDB(t, 1, 0) // 1 lane
	ctx := context.Background()
	for attempt := range 20 {
		table := fmt.Sprintf("stale_%d", attempt)
		if _, err := plain.Exec(ctx, "CREATE TABLE "+table+" (x int); INSERT INTO "+table+" VALUES (41)"); err != nil {
			t.Fatal(err)
		}
		read := "SELECT x, pg_backend_pid() FROM " + table
		var x int64
		var before, after int32
		if err := mx.QueryRow(ctx, read).Scan(&x, &before); err != nil || x != 41 {
			t.Fatalf("before: %d, %v", x, err)
		}
		resent := mx.MultiplexStats().Resent
		if _, err := plain.Exec(ctx, "ALTER TABLE "+table+" ALTER x TYPE bigint; UPDATE "+table+" SET x = 4200000000"); err != nil {
			t.Fatal(err)
		}
		if err := mx.QueryRow(ctx, read).Scan(&x, &after); err != nil || x != 4200000000 {
			t.Fatalf("after the column became bigint: %d, %v", x, err)
		}
		if before != after {
			continue // another connection, which prepared the statement afresh
		}
		if st := mx.MultiplexStats(); st.Resent-resent != 1 || st.Prepares < 2 {
			t.Errorf("stats %+v: want the statement sent again once, prepared again", st)
		}
		return
	}
	t.Fatal("in 20 tries the two reads never ran on the same connection")
}

// TestMultiplexFrozenBackendIsGivenUp: the one multiplexed connection's
// backend stops answering (SIGSTOP, as a hung server would) while a
// statement waits for its Prepare. Its caller, with a 100 ms deadline,
// gets the deadline error at once. The cancel request goes unanswered, so
// 2 s later the connection is given up; the statement queued behind it
// (no deadline, never sent) then runs on a new connection instead of
// hanging.
func TestMultiplexFrozenBackendIsGivenUp(t *testing.T) {
	t.Parallel()
	mx, _, _ := muxDB(t, 1, 0) // 1 lane
	ctx := context.Background()
	freezeBackend(t, mx) // the lane's connection: it is the only one
	behind := make(chan error, 1)
	dctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	go func() {
		time.Sleep(20 * time.Millisecond) // queued behind the first, on the same lane
		var n int
		err := mx.QueryRow(ctx, "SELECT 2").Scan(&n)
		if err == nil && n != 2 {
			err = fmt.Errorf("got %d", n)
		}
		behind <- err
	}()
	_, err := mx.Exec(dctx, "SELECT 1")
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
		t.Errorf("statement with a 100 ms deadline: %v after %s", err, time.Since(start))
	}
	select {
	case err := <-behind:
		if err != nil {
			t.Errorf("statement queued behind the frozen one: %v", err)
		}
		t.Logf("the statement behind was answered after %s", time.Since(start).Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatal("the statement behind the frozen one hung")
	}
	if st := mx.MultiplexStats(); st.LanesLost != 1 || st.Cancels != 1 {
		t.Errorf("stats %+v: want one cancel and one lost lane", st)
	}
}
