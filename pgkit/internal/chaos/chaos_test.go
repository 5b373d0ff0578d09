package chaos

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
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

// pairSize is the size each way of the pair calls: large enough that a
// client writing one while the server sends it the other fills every
// buffer between them. Linux grows a loopback socket's buffers up to
// tcp_rmem's and tcp_wmem's maximum (32 MB and 4 MB here), so a size
// under their sum, such as 8 or 16 MB, fits in the buffers and never
// tests the case; the long run always uses 64 MB.
func pairSize(long bool) int {
	const floor, ceiling = 16 << 20, 64 << 20
	if long {
		return ceiling
	}
	n := 2 << 20 // the proxy's own buffering, and a margin
	for _, f := range []string{"/proc/sys/net/ipv4/tcp_rmem", "/proc/sys/net/ipv4/tcp_wmem"} {
		b, err := os.ReadFile(f)
		fields := strings.Fields(string(b))
		if err != nil || len(fields) != 3 {
			return ceiling
		}
		v, err := strconv.Atoi(fields[2])
		if err != nil {
			return ceiling
		}
		n += v
	}
	return min(max(n, floor), ceiling)
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
	src      pgkit.Source // *pgkit.DB or *pgkit.Replicated
	stopAt   time.Time
	bigUntil time.Time     // the last start of a call of 1 MB or more
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

// runOne runs scenario sc in mode m and checks it.
func runOne(cl *cluster, set settings, sc scenario, m mode, id string) result {
	ctx := context.Background()
	res := result{scenario: sc.name, mode: m.name}
	before := goleak.IgnoreCurrent()
	app := "chaos-" + id
	cfg := pgkit.Config{MaxConns: 20, AcquireTimeout: 2 * time.Second, QueryTimeout: 3 * time.Second,
		ConnectTimeout: 2 * time.Second, Multiplex: m.multiplex, ApplicationName: app}
	nodes := []*node{cl.primary}
	var (
		src     pgkit.Source
		inUse   func() int32
		closeDB func()
	)
	if m.replicated {
		nodes = append(nodes, cl.standby)
		r, err := pgkit.OpenReplicated(ctx, cl.primary.url(app), []string{cl.standby.url(app)}, cfg,
			pgkit.ReplicaConfig{CheckInterval: 200 * time.Millisecond})
		if err != nil {
			res.problems = append(res.problems, err.Error())
			return res
		}
		src, inUse, closeDB = r, func() int32 { return r.Primary().Stats().InUse }, r.Close
	} else {
		d, err := pgkit.Open(ctx, cl.primary.url(app), cfg)
		if err != nil {
			res.problems = append(res.problems, err.Error())
			return res
		}
		src, inUse, closeDB = d, func() int32 { return d.Stats().InUse }, d.Close
	}
	duration := set.duration
	if sc.calm() {
		duration = set.calmFor
	}
	tail := set.tail
	if tail == 0 {
		tail = duration / 2
	}
	stopAt := time.Now().Add(duration)
	runCtx, cancelRun := context.WithCancel(ctx) // no deadline: Config.QueryTimeout's calls need none
	defer cancelRun()
	r := &run{ctx: runCtx, id: id, app: app, set: set, scenario: sc, mode: m, cfg: cfg, src: src,
		stopAt: stopAt, bigUntil: stopAt.Add(-tail), big: make(chan struct{}, 4), huge: make(chan struct{}, set.hugeSlots),
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
	phase := time.Now()
	mark := func(name string) {
		res.phases = append(res.phases, fmt.Sprintf("%s %s", name, time.Since(phase).Round(time.Millisecond)))
		phase = time.Now()
	}
	time.Sleep(time.Until(r.stopAt))
	cancelRun()
	close(stop)
	<-injected // healed
	mark("run")
	// Every call still out must be back within its deadline + hangSlack.
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(r.deadline(64<<20) + hangSlack):
	}
	mark("drain")
	for _, w := range workers {
		if cur := w.cur.Load(); cur != nil {
			w.c.hangs++
			w.c.sample("hang", fmt.Sprintf("%s (%d B, deadline %s) still running after %s", cur.kind, cur.size, cur.deadline, time.Since(cur.start).Round(time.Millisecond)))
		}
	}
	hung := false
	select {
	case <-finished:
	default:
		hung = true
		res.problems = append(res.problems, "calls never returned; their goroutines:\n"+stacksOf("chaos.(*worker)"))
	}
	var writes []write
	for _, w := range workers {
		res.c.merge(&w.c)
		if !hung {
			writes = append(writes, w.writes...) // hung workers may still append
		}
	}
	res.faults = in.line()
	for _, e := range in.errors {
		res.problems = append(res.problems, "fault not caused: "+e)
	}
	if !sc.calm() && in.total() == 0 {
		res.problems = append(res.problems, "no fault was caused")
	}

	// Every connection back in the pool.
	if n := waitFor(5*time.Second, func() bool { return inUse() == 0 }); !n {
		res.problems = append(res.problems, fmt.Sprintf("%d pooled connections still in use after every call returned", inUse()))
	}
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
	case <-time.After(15 * time.Second):
		res.problems = append(res.problems, "Close did not return within 15s:\n"+stacksOf("pgkit.("))
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

// waitFor polls cond until it holds or bound passes.
func waitFor(bound time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(bound); ; time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// noLeaks waits up to bound for the goroutines started since before to
// end (goleak's own retries last well under a second).
func noLeaks(before goleak.Option, bound time.Duration) error {
	// pgtemp's goroutine waiting for a restarted server's process is the
	// test's, not pgkit's; it ends with the server.
	restarted := goleak.IgnoreAnyFunction("github.com/shopdb/shopdb/pgkit/pgtemp.(*Server).launch.func1")
	var err error
	waitFor(bound, func() bool { err = goleak.Find(before, restarted); return err == nil })
	if err != nil {
		return fmt.Errorf("goroutines left after Close: %w", err)
	}
	return nil
}

// stacksOf returns the stacks of the goroutines with a frame containing
// frame, identical ones counted once, at most 4 of them.
func stacksOf(frame string) string {
	buf := make([]byte, 8<<20)
	buf = buf[:runtime.Stack(buf, true)]
	seen := map[string]int{}
	var order []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if !strings.Contains(g, frame) {
			continue
		}
		_, body, _ := strings.Cut(g, "\n") // without "goroutine N [state]:"
		if seen[body] == 0 {
			order = append(order, g)
		}
		seen[body]++
	}
	var b strings.Builder
	for i, g := range order {
		if i == 4 {
			fmt.Fprintf(&b, "… and %d other stacks\n", len(order)-4)
			break
		}
		_, body, _ := strings.Cut(g, "\n")
		fmt.Fprintf(&b, "%d× %s\n\n", seen[body], g)
	}
	return b.String()
}

// report logs a run's counts and fails it on any failure.
func report(t *testing.T, res result) {
	t.Helper()
	c, l := &res.c, &res.l
	t.Logf("%s × %s: %d calls, %d ok; typed errors: %s", res.scenario, res.mode, c.ops, c.ok, c.typedLine())
	t.Logf("faults: %s; phases: %s", res.faults, strings.Join(res.phases, ", "))
	t.Logf("writes: %d acknowledged, %d not (%d of those stored anyway); longest past a deadline: %s",
		l.acked, l.unacked, l.unackedStored, c.overrun.Round(time.Millisecond))
	var kinds []string
	for k, n := range c.byKind {
		kinds = append(kinds, fmt.Sprintf("%s %d", kind(k), n))
	}
	t.Logf("calls by kind: %s; of 16 MB or more: %s", strings.Join(kinds, ", "), c.hugeLine())
	for _, class := range slices.Sorted(maps.Keys(c.examples)) {
		t.Logf("e.g. %s: %s", class, c.examples[class])
	}
	for _, cat := range slices.Sorted(maps.Keys(c.samples)) {
		for _, s := range c.samples[cat] {
			t.Errorf("%s: %s", cat, s)
		}
	}
	for _, s := range l.samples {
		t.Errorf("writes: %s", s)
	}
	for _, p := range res.problems {
		t.Error(p)
	}
	if n := c.failures() + l.failures(); n > 0 {
		t.Errorf("%d wrong answers, %d hangs, %d lost and %d duplicated writes, %d half-stored transactions, %d foreign rows, %d untyped errors, %d errors without a fault, %d arguments in error texts",
			c.wrong, c.hangs, l.lost, l.dup, l.torn, l.foreign, c.untyped, c.calmErrs, c.argLeaks)
	}
}

// table is the summary of every run, one line per scenario × mode.
func table(results []result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-9s %-23s %8s %8s %6s %6s %5s %5s %5s %8s %5s %6s\n",
		"scenario", "mode", "calls", "ok", "wrong", "hangs", "lost", "dup", "torn", "untyped", "calm", "other")
	for _, r := range results {
		fmt.Fprintf(&b, "%-9s %-23s %8d %8d %6d %6d %5d %5d %5d %8d %5d %6d\n",
			r.scenario, r.mode, r.c.ops, r.c.ok, r.c.wrong, r.c.hangs, r.l.lost, r.l.dup, r.l.torn, r.c.untyped, r.c.calmErrs, len(r.problems)+r.l.foreign+r.c.argLeaks)
		fmt.Fprintf(&b, "          typed errors: %s\n", r.c.typedLine())
	}
	return b.String()
}
