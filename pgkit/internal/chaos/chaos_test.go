package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/shopdb/shopdb/pgkit"
)

// settings are the short run's (go test) or the long one's
// (PGKIT_CHAOS=long, make chaos).
type settings struct {
	long      bool
	duration  time.Duration // of each scenario × mode
	calmFor   time.Duration // of the calm scenario
	tail      time.Duration // at the end of a run, in which no call of 1 MB or more starts; 0: the second half
	hugeSlots int           // calls of 16 MB or more at once
	workers   int
	pairSize  int // see pairSize
	scenarios []scenario
}

// loadSettings reads PGKIT_CHAOS and PGKIT_CHAOS_DURATION.
func loadSettings(t *testing.T) settings {
	s := settings{duration: 1500 * time.Millisecond, calmFor: 1200 * time.Millisecond, hugeSlots: 1, workers: 200,
		scenarios: []scenario{scenarioCalm, scenarioAll}, pairSize: pairSize(false)}
	switch v := os.Getenv("PGKIT_CHAOS"); v {
	case "", "short":
	case "long":
		s.long = true
		s.duration = 20 * time.Second
		if d := os.Getenv("PGKIT_CHAOS_DURATION"); d != "" {
			var err error
			if s.duration, err = time.ParseDuration(d); err != nil || s.duration <= 0 {
				t.Fatalf("PGKIT_CHAOS_DURATION=%q: want a duration such as 2m", d)
			}
		}
		s.calmFor = s.duration
		s.tail = 5 * time.Second
		s.hugeSlots = 2
		s.pairSize = pairSize(true)
		s.scenarios = []scenario{scenarioCalm, scenarioNetwork, scenarioBackends, scenarioServer, scenarioAll}
	default:
		t.Fatalf("PGKIT_CHAOS=%q: want short or long", v)
	}
	return s
}

// pairSize is the size each way of the pair calls. Both sides block once
// the socket buffers between them are full: on fresh connections 8 MB is
// enough on Linux, but the kernel grows a loopback socket's buffers up to
// tcp_rmem's and tcp_wmem's maximum (32 MB and 4 MB here) on connections
// that carried large results, so only the long run's 64 MB is sure to
// exceed them (TestMultiplexLargeResultBesideLargeArgument reproduces the
// case on its own, on a fresh connection).
func pairSize(long bool) int {
	if long {
		return 64 << 20
	}
	return 16 << 20
}

// mode is how the DB under test is opened.
type mode struct {
	name                  string
	multiplex, replicated bool
}

var modes = []mode{
	{name: "pooled"},
	{name: "multiplexed", multiplex: true},
	{name: "replicated", replicated: true},
	{name: "replicated+multiplexed", multiplex: true, replicated: true},
}

// run is one scenario in one mode.
type run struct {
	id       string          // the run's rows in chaos_writes
	ctx      context.Context // every call's, cancelled at the run's end
	app      string          // application_name of its connections
	set      settings
	scenario scenario
	mode     mode
	cfg      pgkit.Config
	src      pgkit.Source  // *pgkit.DB or *pgkit.Replicated
	bigUntil time.Time     // the last start of a call of 1 MB or more
	stopped  atomic.Int64  // when the run's end cancelled ctx, in Unix nanoseconds
	acked    atomic.Int64  // writes acknowledged so far
	pairs    bool          // whether worker 0 makes pair calls
	big      chan struct{} // slots for 1 MB calls
	huge     chan struct{} // slots for 16 and 64 MB calls
	pair     chan struct{} // the slot for a pair call
	pairSize int           // bytes each way of a pair call
}

// deadline is the deadline of a call with a payload of size bytes. A call
// that misses it fails with a typed error, which is allowed in every
// scenario: the deadlines bound how long the run waits for its last
// calls, and the hang check's clock.
func (r *run) deadline(size int) time.Duration {
	switch {
	case size >= 16<<20 && r.set.long:
		return 30 * time.Second
	case size >= 16<<20:
		return 10 * time.Second
	case size >= 1<<20:
		return 8 * time.Second
	}
	return 3 * time.Second
}

// slot takes a slot of sem for a call of n bytes, or gives 1,000 bytes
// when none is free or the run is in its tail: large calls, slow with
// -race on a busy machine, would draw the run out past its end.
func (r *run) slot(sem chan struct{}, n int) (int, func()) {
	if time.Now().After(r.bigUntil) {
		return 1000, func() {}
	}
	select {
	case sem <- struct{}{}:
		return n, func() { <-sem }
	default:
		return 1000, func() {}
	}
}

// result is what a run prints.
type result struct {
	scenario, mode string
	c              counts
	l              ledger
	faults         string
	problems       []string // the run's other failures: leaks, closing, ...
	phases         []string // how long each phase of the run took
}

// TestChaos runs the workload in every scenario and mode, one after
// another, and fails on any wrong answer, hang, lost or doubled write,
// untyped error or leak; see the package documentation.
func TestChaos(t *testing.T) {
	set := loadSettings(t)
	cl := startCluster(t)
	var results []result
	for i, sc := range set.scenarios {
		t.Run(sc.name, func(t *testing.T) {
			id := func(j int) string { return fmt.Sprintf("r%d-%d", i, j) }
			runs := make([]result, len(modes))
			for j, m := range modes {
				t.Run(m.name, func(t *testing.T) {
					runs[j] = runOne(cl, set, sc, m, id(j))
					report(t, runs[j])
				})
			}
			results = append(results, runs...)
		})
	}
	t.Log("\n" + table(results))
}

// open opens the DB of mode m, and says which servers it uses, how many
// of its primary's pooled connections are in use, and how to close it.
func open(ctx context.Context, cl *cluster, m mode, app string, cfg pgkit.Config) (src pgkit.Source, nodes []*node, inUse func() int32, closeDB func(), err error) {
	if !m.replicated {
		d, err := pgkit.Open(ctx, cl.primary.url(app), cfg)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		return d, []*node{cl.primary}, func() int32 { return d.Stats().InUse }, d.Close, nil
	}
	r, err := pgkit.OpenReplicated(ctx, cl.primary.url(app), []string{cl.standby.url(app)}, cfg,
		pgkit.ReplicaConfig{CheckInterval: 200 * time.Millisecond})
	if err != nil {
		return nil, nil, nil, nil, err
	}
	return r, []*node{cl.primary, cl.standby}, func() int32 { return r.Primary().Stats().InUse }, r.Close, nil
}

// runOne runs scenario sc in mode m and checks it.
func runOne(cl *cluster, set settings, sc scenario, m mode, id string) result {
	ctx := context.Background()
	res := result{scenario: sc.name, mode: m.name}
	before := goleak.IgnoreCurrent()
	app := "chaos-" + id
	cfg := pgkit.Config{MaxConns: 20, AcquireTimeout: 2 * time.Second, QueryTimeout: 3 * time.Second,
		ConnectTimeout: 2 * time.Second, Multiplex: m.multiplex, ApplicationName: app}
	src, nodes, inUse, closeDB, err := open(ctx, cl, m, app, cfg)
	if err != nil {
		res.problems = append(res.problems, err.Error())
		return res
	}
	duration := set.duration
	if sc.calm() {
		duration = set.calmFor
	}
	tail := set.tail
	if tail == 0 {
		tail = duration / 2
	}
	phase := time.Now()
	mark := func(name string) {
		res.phases = append(res.phases, fmt.Sprintf("%s %s", name, time.Since(phase).Round(time.Millisecond)))
		phase = time.Now()
	}
	if err := warmUp(ctx, src); err != nil {
		res.problems = append(res.problems, "warm-up: "+err.Error())
	}
	mark("warm-up")
	runCtx, cancelRun := context.WithCancel(ctx) // no deadline: Config.QueryTimeout's calls need none
	defer cancelRun()
	r := &run{ctx: runCtx, id: id, app: app, set: set, scenario: sc, mode: m, cfg: cfg, src: src,
		bigUntil: time.Now().Add(duration - tail), big: make(chan struct{}, 4), huge: make(chan struct{}, set.hugeSlots),
		pair: make(chan struct{}, 1), pairSize: set.pairSize,
		// The pair calls are there for the multiplexer; through a pool,
		// or to a replica, they are two large calls like the others.
		pairs: set.long || (m.multiplex && !m.replicated)}

	// The faults, until the run's end.
	in := &injector{r: r, nodes: nodes, rng: rand.New(rand.NewPCG(rand.Uint64(), 1)), done: map[fault]int{}}
	stop := make(chan struct{})
	injected := make(chan struct{})
	go func() {
		defer close(injected)
		if !sc.calm() {
			in.loop(stop)
		}
	}()
	// The workers.
	workers := make([]*worker, set.workers)
	var wg sync.WaitGroup
	for i := range workers {
		w := &worker{id: i, r: r, rng: rand.New(rand.NewPCG(rand.Uint64(), uint64(i)))}
		workers[i] = w
		wg.Add(1)
		go func() { defer wg.Done(); w.loop() }()
	}
	// The run lasts its duration, and then until it has acknowledged
	// writes to check (a machine busy enough can take longer than the
	// duration for the first), up to a bound.
	time.Sleep(duration)
	waitFor(minAckedWithin, func() bool { return r.acked.Load() >= minAcked })
	r.stopped.Store(time.Now().UnixNano())
	cancelRun()
	close(stop)
	<-injected // healed
	mark("run")
	// The run's end cancelled every call still out but the large ones:
	// each must be back within hangSlack of that, or of its deadline;
	// one still out a while later never will be.
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(r.deadline(64<<20) + hangSlack + 3*time.Second):
	}
	mark("drain")
	hung := false
	var writes []write
	for _, w := range workers {
		if !w.done.Load() {
			// Its counts and writes are its goroutine's still: left alone.
			hung = true
			if cur := w.cur.Load(); cur != nil {
				res.c.hangs++
				res.c.sample("hang", fmt.Sprintf("%s (%d B) still running %s after it started, %s after the run's end",
					cur.kind, cur.size, time.Since(cur.start).Round(time.Millisecond), time.Since(time.Unix(0, r.stopped.Load())).Round(time.Millisecond)))
			}
			continue
		}
		res.c.merge(&w.c)
		writes = append(writes, w.writes...)
	}
	if hung {
		res.problems = append(res.problems, "calls never returned (their writes are not checked); their goroutines:\n"+stacksOf("chaos.(*worker)"))
	}
	res.faults = in.line()
	for _, e := range in.errors {
		res.problems = append(res.problems, "fault not caused: "+e)
	}
	if !sc.calm() && in.total() == 0 {
		res.problems = append(res.problems, "no fault was caused")
	}

	// Every connection back in the pool. A call cancelled while it was
	// writing a large argument leaves its connection to pgx's asynchronous
	// close, which cannot end the message it cut short: it waits up to its
	// 15s deadline for the server, counted in use meanwhile; a connection
	// out for longer is leaked.
	if !waitFor(20*time.Second, func() bool { return inUse() == 0 }) {
		res.problems = append(res.problems, fmt.Sprintf("%d pooled connections still in use 20s after every call returned; goroutines in pgx:\n%s",
			inUse(), stacksOf("github.com/jackc/pgx/v5")))
	}
	mark("in use")
	// Every acknowledged write stored, once.
	if !hung {
		l, err := verify(ctx, cl.primary, id, writes)
		if err != nil {
			res.problems = append(res.problems, "verify writes: "+err.Error())
		}
		res.l = l
		if l.acked == 0 {
			res.problems = append(res.problems, "no write was acknowledged: the checks of writes proved nothing")
		}
	}
	// Closed in bounded time, and nothing left behind (a Close that hung
	// leaves its goroutines and connections: no use waiting for them).
	mark("verify")
	closed := make(chan struct{})
	go func() { closeDB(); close(closed) }()
	leakBound := 10 * time.Second
	select {
	case <-closed:
	case <-time.After(20 * time.Second): // pgx's asynchronous close of a connection takes up to 15s
		res.problems = append(res.problems, "Close did not return within 20s:\n"+stacksOf("pgkit.("))
		leakBound = time.Second
	}
	mark("close")
	if err := noLeaks(before, leakBound); err != nil {
		res.problems = append(res.problems, err.Error())
	}
	mark("goroutines")
	for _, n := range nodes {
		left, err := n.waitNoBackends(ctx, app, leakBound)
		if err != nil {
			res.problems = append(res.problems, "count backends: "+err.Error())
		} else if left > 0 {
			res.problems = append(res.problems, fmt.Sprintf("%s: %d backends of the DB left after Close", n.name, left))
		}
	}
	mark("backends")
	return res
}

// A run goes on past its duration until minAcked writes are acknowledged,
// for at most minAckedWithin.
const (
	minAcked       = 20
	minAckedWithin = 20 * time.Second
)

// warmUp opens connections of src before the run's clock starts: on a
// busy machine, 200 callers at once on a cold pool would spend the short
// run connecting.
func warmUp(ctx context.Context, src pgkit.Source) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	errs := make([]error, 20)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := src.Exec(ctx, "SELECT pg_sleep(0.01)"); err != nil { // on the primary
				errs[i] = err
				return
			}
			var v int
			errs[i] = src.QueryRow(ctx, "SELECT 1 FROM pg_sleep(0.01)").Scan(&v) // on a replica, if any
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
