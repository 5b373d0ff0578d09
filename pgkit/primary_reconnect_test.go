package pgkit_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/pgkit/internal/faultproxy"
	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// TestPrimaryPoolReconnectsWithBackoff: 16 goroutines write without pause
// through a pool on a primary and its standby (both hosts, in that order,
// target_session_attrs=read-write, each behind a proxy that counts the
// connections made to it). The primary stops; for 2.5 s there is no
// primary (the first host refuses connections, the second is a standby,
// which read-write refuses), and then the standby is promoted.
//
//   - While connecting fails, the pool must not hammer the servers: in
//     the last 2 s of the outage the connection attempts stay within one
//     per 125 ms, plus slack for attempts under way from before. Before,
//     the 16 writers made as many at once as the pool has connections,
//     over a hundred in those 2 s on a loaded 2-core machine.
//   - Writes succeed again soon after the promotion (the figure is
//     printed; the assertion only detects a hang), and every failed write
//     is typed: pgerr.IsTransient or pgerr.IsWrongServerRole.
//
// Multiplex × QueryTimeout, one after the other.
func TestPrimaryPoolReconnectsWithBackoff(t *testing.T) {
	t.Parallel()
	for _, c := range followCases(false) {
		// One at a time: each has a primary and a standby of its own, and
		// 16 writers; four at once beside the package's other tests
		// overload a 2-core machine.
		t.Run(c.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			primary, standby := primaryAndStandby(t)
			adminExec(t, primary.URL(), followTable)
			var proxies []*faultproxy.Proxy
			var addrs []string
			for _, s := range []string{primary.URL(), standby.URL()} {
				p, err := faultproxy.Start(hostOf(s))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = p.Close() })
				proxies, addrs = append(proxies, p), append(addrs, p.Addr())
			}
			attempts := func() int64 { return proxies[0].Stats().Accepted + proxies[1].Stats().Accepted }
			const maxConns = 8
			d := openT(t, multiHost("read-write", addrs...), c.config(maxConns))

			var ok, failed atomic.Int64
			var promotedAt, backAt atomic.Int64 // unix nanoseconds: promotion asked for, first write after it
			var mu sync.Mutex
			var untyped []error
			var lastErr atomic.Pointer[error]
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for w := range 16 {
				wg.Go(func() {
					for j := 0; ; j++ {
						select {
						case <-stop:
							return
						default:
						}
						_, err := writeAt(ctx, d, fmt.Sprintf("backoff-%d-%d", w, j), j%2 == 1)
						if err == nil {
							ok.Add(1)
							if p := promotedAt.Load(); p != 0 {
								backAt.CompareAndSwap(0, time.Now().UnixNano())
							}
							continue
						}
						failed.Add(1)
						lastErr.Store(&err)
						if !pgerr.IsTransient(err) && !pgerr.IsWrongServerRole(err) {
							mu.Lock()
							untyped = append(untyped, err)
							mu.Unlock()
						}
					}
				})
			}
			waitFor(t, 15*time.Second, func() bool { return ok.Load() >= 20 })
			// The first host is down from now on: its proxy refuses, so no
			// connection reaches whatever server takes its port next.
			proxies[0].Refuse(true)
			if err := primary.Stop(); err != nil {
				t.Fatal(err)
			}
			// The attempts under way when the primary went, one per
			// connection, fail within a moment; the window counted starts
			// after that.
			time.Sleep(500 * time.Millisecond)
			before, windowFrom := attempts(), time.Now()
			time.Sleep(2 * time.Second)
			made, window := attempts()-before, time.Since(windowFrom)
			// When the standby starts taking writes, as seen on a
			// connection of its own (pg_promote returns up to 100 ms
			// later: it looks every 100 ms).
			watch, err := pgx.Connect(ctx, standby.URL())
			if err != nil {
				t.Fatal(err)
			}
			defer watch.Close(context.Background())
			accepting := make(chan time.Time, 1)
			go func() {
				for ctx.Err() == nil {
					var inRecovery bool
					if err := watch.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&inRecovery); err == nil && !inRecovery {
						accepting <- time.Now()
						return
					}
					time.Sleep(2 * time.Millisecond)
				}
			}()
			promotedAt.Store(time.Now().UnixNano())
			if err := standby.Promote(ctx); err != nil {
				t.Fatal(err)
			}
			for deadline := time.Now().Add(15 * time.Second); backAt.Load() == 0; time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					close(stop)
					wg.Wait()
					t.Fatalf("no write succeeded within 15s of the promotion; the last error: %v; pool %+v, multiplexer %+v", *lastErr.Load(), d.Stats(), d.MultiplexStats())
				}
			}
			close(stop)
			wg.Wait()
			back := time.Duration(backAt.Load() - (<-accepting).UnixNano())
			t.Logf("no primary: %d connections made to the two hosts in %s; writes back %s after the new primary took writes; %d writes acknowledged, %d failed",
				made, window.Round(time.Millisecond), back.Round(time.Millisecond), ok.Load(), failed.Load())
			if len(untyped) > 0 {
				t.Errorf("%d writes failed untyped (neither IsTransient nor IsWrongServerRole): %v", len(untyped), errorsJoin(untyped, 3))
			}
			// Once the delay has grown (125–250 ms with its jitter), one
			// attempt per 125 ms at most, plus slack for attempts still
			// under way from before (one per connection); each attempt
			// reaches both proxies.
			if bound := 2 * (maxConns + 1 + int64(window/(125*time.Millisecond))); made > bound {
				t.Errorf("%d connections in %s without a primary: more than one attempt at a time, or too often (bound %d)", made, window.Round(time.Millisecond), bound)
			}
		})
	}
}
