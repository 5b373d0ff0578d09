package pgkit_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgtemp"
)

// TestReplicatedFollowsFormationFailover measures, on a real
// pg_auto_failover formation (pgtemp.Formation) and a planned failover,
// how soon a Replicated with the default CheckInterval (1s) follows the
// new topology: its primary DSN is the formation's URL (both nodes,
// target_session_attrs=read-write), and both nodes are listed as
// replicas. Eight goroutines write through it the whole time. Measured:
// the promoted node leaving the read set, from when it left recovery;
// the first write through the Replicated, from when the new primary
// accepted its first write; reads going to the old primary, from when it
// answers as a standby again. The bounds asserted (60 s) only detect a
// hang. Every failed write is typed (pgerr.IsTransient or
// pgerr.IsWrongServerRole), and once the old primary takes reads every
// read runs on it. Without and with Config.Multiplex.
func TestReplicatedFollowsFormationFailover(t *testing.T) {
	if err := pgtemp.FormationAvailable(); err != nil {
		t.Skip(err)
	}
	// Not parallel, as TestFailoverFormation: one formation at a time.
	for _, multiplex := range []bool{false, true} {
		t.Run(fmt.Sprintf("multiplex=%v", multiplex), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			f, err := pgtemp.StartFormation(ctx, pgtemp.FormationConfig{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = f.Stop() })
			adminExec(t, f.URL(), followTable)
			r, err := pgkit.OpenReplicated(ctx, f.URL(), []string{f.NodeURL(0), f.NodeURL(1)},
				pgkit.Config{MaxConns: 8, Multiplex: multiplex}, pgkit.ReplicaConfig{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			readsOn := func(node int) func() bool {
				return func() bool {
					var inRecovery bool
					var at int
					err := r.QueryRow(ctx, "SELECT pg_is_in_recovery(), inet_server_port()").Scan(&inRecovery, &at)
					return err == nil && inRecovery && at == f.NodePort(node)
				}
			}
			waitFor(t, 30*time.Second, readsOn(1))

			var writes, failed atomic.Int64
			var okMu sync.Mutex
			var oks []time.Time
			var untyped []error
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for w := range 8 {
				wg.Go(func() {
					for j := 0; ; j++ {
						select {
						case <-stop:
							return
						default:
						}
						_, err := writeAt(ctx, r, fmt.Sprintf("formation-%d-%d", w, j), j%2 == 1)
						writes.Add(1)
						okMu.Lock()
						switch {
						case err == nil:
							oks = append(oks, time.Now())
						case pgerr.IsTransient(err) || pgerr.IsWrongServerRole(err) || errors.Is(err, pgkit.ErrPoolExhausted):
							failed.Add(1)
						default:
							untyped = append(untyped, err)
						}
						okMu.Unlock()
					}
				})
			}
			firstOKAfter := func(t0 time.Time) time.Time {
				okMu.Lock()
				defer okMu.Unlock()
				for _, ok := range oks {
					if !ok.Before(t0) {
						return ok
					}
				}
				return time.Time{}
			}

			// When each node changed role, as seen on connections of
			// their own: node 1 out of recovery, node 0 back as a standby.
			promoted := watchRecovery(ctx, f.NodeURL(1), false)
			demoted := watchRecovery(ctx, f.NodeURL(0), true)
			// And when the Replicated followed each change.
			leftReads := watchUntil(ctx, func() bool { return !r.ReplicaStats()[1].Healthy })
			readsBack := watchUntil(ctx, readsOn(0))
			began := time.Now()
			node, accepted, err := f.FailoverTimed(ctx)
			if err != nil || node != 1 {
				t.Fatalf("FailoverTimed: node %d, %v; want node 1", node, err)
			}
			outOfRecovery := <-promoted
			t.Logf("node 1 out of recovery %s, and took writes %s, after the failover began",
				outOfRecovery.Sub(began).Round(time.Millisecond), accepted.Sub(began).Round(time.Millisecond))
			after := func(what string, from time.Time, at <-chan time.Time) {
				t.Helper()
				select {
				case when := <-at:
					t.Logf("%s %s after", what, when.Sub(from).Round(time.Millisecond))
				case <-time.After(60 * time.Second):
					t.Fatalf("%s: not within 60s", what)
				}
			}
			after("the promoted node left the read set", outOfRecovery, leftReads)
			waitFor(t, 60*time.Second, func() bool { return !firstOKAfter(accepted).IsZero() })
			t.Logf("the first write through the Replicated %s after node 1 took writes", firstOKAfter(accepted).Sub(accepted).Round(time.Millisecond))
			after("reads went to the old primary", <-demoted, readsBack)
			if err := f.WaitSecondary(ctx); err != nil {
				t.Fatal(err)
			}
			for i := range 20 {
				if !readsOn(0)() {
					t.Fatalf("read %d after the old primary took reads did not run on it", i)
				}
			}
			close(stop)
			wg.Wait()
			t.Logf("%d writes, %d failed (typed)", writes.Load(), failed.Load())
			if len(untyped) > 0 {
				t.Errorf("%d writes failed untyped: %v", len(untyped), errorsJoin(untyped, 3))
			}
		})
	}
}

// watchUntil polls cond every 5 ms until it holds, and sends that
// instant (nothing if ctx ends first).
func watchUntil(ctx context.Context, cond func() bool) <-chan time.Time {
	out := make(chan time.Time, 1)
	go func() {
		for ctx.Err() == nil {
			if cond() {
				out <- time.Now()
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return out
}

// watchRecovery polls the server at url every 5 ms, each time on a new
// connection if the last broke, until pg_is_in_recovery() is want, and
// sends that instant (the zero time if ctx ends first).
func watchRecovery(ctx context.Context, url string, want bool) <-chan time.Time {
	out := make(chan time.Time, 1)
	go func() {
		for ctx.Err() == nil {
			var inRecovery bool
			if queryOn(ctx, url, "SELECT pg_is_in_recovery()").Scan(&inRecovery) == nil && inRecovery == want {
				out <- time.Now()
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return out
}
