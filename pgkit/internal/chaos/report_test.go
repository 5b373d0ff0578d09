package chaos

import (
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

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
	t.Logf("writes: %d acknowledged, %d not (%d of those stored anyway); longest past a deadline: %s, by %s",
		l.acked, l.unacked, l.unackedStored, c.overrun.Round(time.Millisecond), c.worst)
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
