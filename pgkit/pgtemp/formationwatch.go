package pgtemp

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// FormationWatch records the monitor's view of a Formation over time:
// every change of the nodes' states, and the windows in which the
// formation was split, so that a test that lost acknowledged writes can
// tell the cluster's loss from its client's. Start one with
// Formation.Watch; its methods are safe for concurrent use.
//
// A split window is one in which one node, still running as a primary,
// commits without its synchronous standby (wait_primary) while the other
// node is being promoted or already is. pg_auto_failover 2.0 (Debian 12's
// package) does this during a planned failover when the monitor handles
// the old primary's report after the candidate has left the secondary
// state and before it assigns draining (upstream issue #774, fixed after
// 2.0): the old primary then stays writable, asynchronously, until the
// demote timeout, and what it acknowledged there is rewound away when it
// rejoins. No client can see that from its sessions: the old primary
// answers every write with success. It happened here mostly on a loaded
// machine, in 2 of 5 planned failovers at a load average near 10.
type FormationWatch struct {
	f      *Formation
	start  time.Time
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	changes []stateChange
	splits  []span // closed split windows
	openAt  time.Time
	failed  int // polls of the monitor that failed
}

// stateChange is one observed change of the monitor's view.
type stateChange struct {
	at    time.Time
	state string
}

// span is a stretch of time.
type span struct{ from, to time.Time }

// watchPoll is how often a FormationWatch asks the monitor.
const watchPoll = 100 * time.Millisecond

// splitMargin widens each split window on both sides when SplitBrain
// asks: the monitor is polled every watchPoll (later on a loaded
// machine), a keeper reports about once a second, and an acknowledgement
// reaches its client a little after the commit.
const splitMargin = 2 * time.Second

// Watch starts recording the monitor's view every 100 ms until Stop is
// called or ctx ends.
func (f *Formation) Watch(ctx context.Context) *FormationWatch {
	ctx, cancel := context.WithCancel(ctx)
	w := &FormationWatch{f: f, start: time.Now(), cancel: cancel, done: make(chan struct{})}
	go w.run(ctx)
	return w
}

func (w *FormationWatch) run(ctx context.Context) {
	defer close(w.done)
	tick := time.NewTicker(watchPoll)
	defer tick.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		st, err := w.f.States(pctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		w.observe(time.Now(), st, err)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// observe records one poll's answer.
func (w *FormationWatch) observe(at time.Time, st []NodeState, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.failed++
		return
	}
	parts := make([]string, len(st))
	for i, s := range st {
		parts[i] = s.String()
	}
	state := strings.Join(parts, ", ")
	if n := len(w.changes); n == 0 || w.changes[n-1].state != state {
		w.changes = append(w.changes, stateChange{at: at, state: state})
	}
	split := isSplit(st)
	switch {
	case split && w.openAt.IsZero():
		w.openAt = at
	case !split && !w.openAt.IsZero():
		w.splits = append(w.splits, span{w.openAt, at})
		w.openAt = time.Time{}
	}
}

// promoting are the states of a node on its way to primary, or there.
var promoting = map[string]bool{"prepare_promotion": true, "stop_replication": true, "wait_primary": true, "primary": true, "single": true}

// isSplit reports whether one node commits asynchronously as a primary
// (reported primary or wait_primary, with wait_primary reported or
// assigned, postgres running) while the other is being promoted (reported
// or assigned a state of promoting).
func isSplit(st []NodeState) bool {
	for _, a := range st {
		async := a.PgIsRunning && (a.Reported == "wait_primary" || (a.Reported == "primary" && a.Goal == "wait_primary"))
		if !async {
			continue
		}
		for _, b := range st {
			if b.Node != a.Node && (promoting[b.Reported] || promoting[b.Goal]) {
				return true
			}
		}
	}
	return false
}

// Stop ends the recording; the windows and timeline stay readable.
func (w *FormationWatch) Stop() {
	w.cancel()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.openAt.IsZero() {
		w.splits = append(w.splits, span{w.openAt, time.Now()})
		w.openAt = time.Time{}
	}
}

// SplitBrain reports whether t falls in a split window (widened by 2 s
// on both sides), or in one still open.
func (w *FormationWatch) SplitBrain(t time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.openAt.IsZero() && !t.Before(w.openAt.Add(-splitMargin)) {
		return true
	}
	for _, s := range w.splits {
		if !t.Before(s.from.Add(-splitMargin)) && !t.After(s.to.Add(splitMargin)) {
			return true
		}
	}
	return false
}

// Splits is the number of split windows seen so far, an open one
// included.
func (w *FormationWatch) Splits() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(w.splits)
	if !w.openAt.IsZero() {
		n++
	}
	return n
}

// Timeline is the recorded changes, one per line with its time since
// Watch, then the split windows.
func (w *FormationWatch) Timeline() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var b strings.Builder
	for _, c := range w.changes {
		fmt.Fprintf(&b, "%8.3fs  %s\n", c.at.Sub(w.start).Seconds(), c.state)
	}
	for _, s := range w.splits {
		fmt.Fprintf(&b, "split (an old primary writable without its standby while the other node was promoted): %.3fs–%.3fs\n",
			s.from.Sub(w.start).Seconds(), s.to.Sub(w.start).Seconds())
	}
	if w.failed > 0 {
		fmt.Fprintf(&b, "(%d polls of the monitor failed)\n", w.failed)
	}
	return b.String()
}

// Since is t in seconds since Watch, for messages.
func (w *FormationWatch) Since(t time.Time) string {
	return fmt.Sprintf("%.3fs", t.Sub(w.start).Seconds())
}
