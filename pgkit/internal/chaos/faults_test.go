package chaos

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/pgkit/internal/faultproxy"
)

// fault is one kind of fault the injector causes.
type fault int

const (
	fLatency   fault = iota // the proxy delays every byte 5–50 ms
	fStall                  // the proxy stops forwarding one or both ways; connections stay open
	fStallOne               // the same for one connection
	fTruncate               // a few connections forward n more bytes, then close
	fReset                  // connections reset (RST), one to all
	fRefuse                 // the proxy resets new connections
	fTerminate              // pg_terminate_backend of random backends
	fCancel                 // pg_cancel_backend of random active backends
	fFreeze                 // SIGSTOP of the whole server, then SIGCONT
	fRestart                // the server restarted (fast shutdown)
	fSchema                 // chaos_writes.token's type changed (text, varchar): prepared plans go stale
	nFaults
)

var faultNames = [nFaults]string{"latency", "stall", "stall-one", "truncate", "reset", "refuse", "terminate", "cancel", "sigstop", "restart", "schema"}

func (f fault) String() string { return faultNames[f] }

// scenario is a set of faults injected during a run; none is the calm
// scenario, in which every call that was given time must succeed.
type scenario struct {
	name   string
	faults []fault
}

func (s scenario) calm() bool { return len(s.faults) == 0 }

var (
	scenarioCalm     = scenario{name: "calm"}
	scenarioNetwork  = scenario{name: "network", faults: []fault{fLatency, fStall, fStallOne, fTruncate, fReset, fRefuse}}
	scenarioBackends = scenario{name: "backends", faults: []fault{fTerminate, fCancel, fSchema}}
	scenarioServer   = scenario{name: "server", faults: []fault{fFreeze, fRestart}}
	scenarioAll      = scenario{name: "all", faults: []fault{fLatency, fStall, fStallOne, fTruncate, fReset, fRefuse, fTerminate, fCancel, fFreeze, fRestart, fSchema}}
)

// injector causes a run's faults one after another, each on a random
// server of the run (the standby too in the replicated modes), until the
// run's end, and heals them all when it ends.
type injector struct {
	r     *run
	nodes []*node
	rng   *rand.Rand

	mu     sync.Mutex
	done   map[fault]int // faults caused, by kind
	errors []string      // faults that could not be caused
}

// loop causes the faults in random order, each kind once per round, with
// random holds and gaps, until stop is closed.
func (in *injector) loop(stop <-chan struct{}) {
	defer in.heal()
	for {
		order := slices.Clone(in.r.scenario.faults)
		in.rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, f := range order {
			if !in.sleep(stop, in.gap()) {
				return
			}
			in.cause(f, stop)
		}
	}
}

// hold is how long a fault that lasts is kept up.
func (in *injector) hold() time.Duration {
	if in.r.set.long {
		return time.Duration(200+in.rng.IntN(2300)) * time.Millisecond
	}
	return time.Duration(100+in.rng.IntN(300)) * time.Millisecond
}

// gap is the time between two faults.
func (in *injector) gap() time.Duration {
	if in.r.set.long {
		return time.Duration(100+in.rng.IntN(900)) * time.Millisecond
	}
	return time.Duration(30+in.rng.IntN(120)) * time.Millisecond
}

// sleep waits d or until stop; false when stopped.
func (in *injector) sleep(stop <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-stop:
		return false
	case <-t.C:
		return true
	}
}

// cause causes f on a random node, holding it for a while when it lasts.
func (in *injector) cause(f fault, stop <-chan struct{}) {
	n := in.nodes[in.rng.IntN(len(in.nodes))]
	ctx := context.Background()
	var err error
	switch f {
	case fLatency:
		n.proxy.SetLatency(time.Duration(5+in.rng.IntN(45)) * time.Millisecond)
		in.sleep(stop, in.hold())
		n.proxy.SetLatency(0)
	case fStall:
		n.proxy.Stall([]faultproxy.Direction{faultproxy.ToServer, faultproxy.ToClient, faultproxy.Both}[in.rng.IntN(3)])
		in.sleep(stop, in.hold())
		n.proxy.Resume()
	case fStallOne:
		if c := in.someConns(n, 1); len(c) > 0 {
			c[0].Stall(faultproxy.Both)
			in.sleep(stop, in.hold())
			c[0].Resume()
		}
	case fTruncate:
		for _, c := range in.someConns(n, 3) {
			dir := []faultproxy.Direction{faultproxy.ToServer, faultproxy.ToClient, faultproxy.Both}[in.rng.IntN(3)]
			c.Truncate(dir, []int64{0, 1, 5, 64, 1000, 70_000}[in.rng.IntN(6)])
		}
	case fReset:
		if in.rng.IntN(2) == 0 {
			n.proxy.Reset()
		} else {
			for _, c := range in.someConns(n, 3) {
				c.Reset()
			}
		}
	case fRefuse:
		n.proxy.Refuse(true)
		for _, c := range in.someConns(n, 1) {
			c.Reset() // so that the pool has to reconnect meanwhile
		}
		in.sleep(stop, in.hold())
		n.proxy.Refuse(false)
	case fTerminate:
		_, err = n.signalBackends(ctx, in.r.app, true, 3, in.rng)
	case fCancel:
		_, err = n.signalBackends(ctx, in.r.app, false, 5, in.rng)
	case fFreeze:
		var thaw func()
		if thaw, err = n.freeze(); err == nil {
			in.sleep(stop, in.hold())
			thaw()
		}
	case fSchema:
		n = in.nodes[0] // DDL runs on the primary; the standby replays it
		err = n.admin(ctx, func(c *pgx.Conn) error {
			_, err := c.Exec(ctx, `DO $$ BEGIN
				IF (SELECT atttypid FROM pg_attribute WHERE attrelid = 'chaos_writes'::regclass AND attname = 'token') = 'text'::regtype
				THEN ALTER TABLE chaos_writes ALTER COLUMN token TYPE varchar(200);
				ELSE ALTER TABLE chaos_writes ALTER COLUMN token TYPE text;
				END IF; END $$`)
			return err
		})
	case fRestart:
		rctx, cancel := context.WithTimeout(ctx, time.Minute)
		err = n.restart(rctx, time.Duration(50+in.rng.IntN(250))*time.Millisecond)
		cancel()
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if err != nil {
		in.errors = append(in.errors, fmt.Sprintf("%s on %s: %v", f, n.name, err))
		return
	}
	in.done[f]++
}

// someConns picks up to max random connections of n's proxy.
func (in *injector) someConns(n *node, max int) []*faultproxy.Conn {
	conns := n.proxy.Conns()
	in.rng.Shuffle(len(conns), func(i, j int) { conns[i], conns[j] = conns[j], conns[i] })
	return conns[:min(len(conns), 1+in.rng.IntN(max))]
}

// heal ends every fault still up.
func (in *injector) heal() {
	for _, n := range in.nodes {
		n.proxy.Heal()
	}
}

// line lists the faults caused, by kind.
func (in *injector) line() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.done == nil {
		return "none"
	}
	var parts []string
	for _, f := range slices.Sorted(maps.Keys(in.done)) {
		parts = append(parts, fmt.Sprintf("%s %d", f, in.done[f]))
	}
	return strings.Join(parts, ", ")
}

// total is how many faults were caused.
func (in *injector) total() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	n := 0
	for _, c := range in.done {
		n += c
	}
	return n
}
