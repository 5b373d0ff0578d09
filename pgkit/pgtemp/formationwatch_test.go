package pgtemp

import (
	"strings"
	"testing"
	"time"
)

// states parses "node0 primary→draining, node1 secondary→prepare_promotion"
// (NodeState.String's form; " (postgres down)" marks a stopped postgres).
func states(t *testing.T, line string) []NodeState {
	t.Helper()
	var out []NodeState
	for i, part := range strings.Split(line, ", ") {
		s := NodeState{Node: i, PgIsRunning: true}
		part, down := strings.CutSuffix(part, " (postgres down)")
		s.PgIsRunning = !down
		name, st, ok := strings.Cut(part, " ")
		if !ok || name != nodeName(i) {
			t.Fatalf("bad state %q", part)
		}
		s.Reported, s.Goal, ok = strings.Cut(st, "→")
		if !ok {
			s.Goal = s.Reported
		}
		out = append(out, s)
	}
	return out
}

// The monitor's views in order, as seen in runs of TestFailoverFormation
// (shortened): a planned failover as designed, the same failover hit by
// pg_auto_failover's #774, and a standby lost and back.
var (
	plannedFailover = []string{
		"node0 primary, node1 secondary",
		"node0 primary→draining, node1 secondary→prepare_promotion",
		"node0 primary→demote_timeout, node1 prepare_promotion→stop_replication",
		"node0 draining→demote_timeout (postgres down), node1 prepare_promotion→stop_replication",
		"node0 demote_timeout→demoted (postgres down), node1 stop_replication→wait_primary",
		"node0 demoted (postgres down), node1 wait_primary",
		"node0 demoted→catchingup (postgres down), node1 wait_primary",
		"node0 catchingup→secondary, node1 wait_primary",
		"node0 secondary, node1 wait_primary→primary",
		"node0 secondary, node1 primary",
	}
	splitFailover = []string{
		"node0 primary, node1 secondary",
		"node0 primary→wait_primary, node1 secondary→prepare_promotion", // split from here
		"node0 wait_primary, node1 secondary→prepare_promotion",
		"node0 wait_primary→demote_timeout, node1 prepare_promotion→stop_replication",
		"node0 wait_primary→demoted, node1 stop_replication→wait_primary",
		"node0 demoted→catchingup (postgres down), node1 wait_primary", // to here
		"node0 catchingup, node1 wait_primary",
		"node0 secondary, node1 wait_primary→primary",
		"node0 secondary, node1 primary",
	}
	standbyLost = []string{
		"node0 primary, node1 secondary",
		"node0 primary→wait_primary, node1 secondary (postgres down)",
		"node0 wait_primary, node1 catchingup",
		"node0 wait_primary→primary, node1 secondary",
		"node0 primary, node1 secondary",
	}
)

// replay feeds views to a watch one second apart from its start.
func replay(t *testing.T, views []string) (*FormationWatch, time.Time) {
	t.Helper()
	start := time.Now()
	w := &FormationWatch{start: start}
	for i, v := range views {
		w.observe(start.Add(time.Duration(i)*time.Second), states(t, v), nil)
	}
	return w, start
}

func TestFormationWatchFindsTheSplit(t *testing.T) {
	w, start := replay(t, splitFailover)
	if n := len(w.splits); n != 1 || !w.openAt.IsZero() {
		t.Fatalf("%d split windows (open: %v), want 1 closed:\n%s", n, !w.openAt.IsZero(), w.Timeline())
	}
	if s := w.splits[0]; !s.from.Equal(start.Add(time.Second)) || !s.to.Equal(start.Add(5*time.Second)) {
		t.Errorf("split %s–%s, want 1s–5s", w.Since(s.from), w.Since(s.to))
	}
	// The window is 1 s–5 s; with the 2 s margins, -1 s–7 s.
	for _, c := range []struct {
		at   time.Duration
		want bool
	}{
		{-1500 * time.Millisecond, false},
		{-500 * time.Millisecond, true},
		{3 * time.Second, true},
		{6900 * time.Millisecond, true},
		{7500 * time.Millisecond, false},
	} {
		if got := w.SplitBrain(start.Add(c.at)); got != c.want {
			t.Errorf("SplitBrain(%s after the start) = %v, want %v", c.at, got, c.want)
		}
	}
	if !strings.Contains(w.Timeline(), "split") {
		t.Errorf("the timeline does not show the split:\n%s", w.Timeline())
	}
}

func TestFormationWatchNoSplitWhenTheClusterBehaves(t *testing.T) {
	for name, views := range map[string][]string{"planned failover": plannedFailover, "standby lost": standbyLost} {
		w, start := replay(t, views)
		if w.Splits() != 0 {
			t.Errorf("%s: %d split windows:\n%s", name, w.Splits(), w.Timeline())
		}
		for i := range views {
			if w.SplitBrain(start.Add(time.Duration(i) * time.Second)) {
				t.Errorf("%s: SplitBrain at %ds", name, i)
			}
		}
	}
}

func TestFormationWatchOpenSplit(t *testing.T) {
	w, start := replay(t, splitFailover[:3])
	if w.Splits() != 1 || !w.SplitBrain(start.Add(time.Hour)) {
		t.Errorf("an open split: %d windows, SplitBrain after it %v", w.Splits(), w.SplitBrain(start.Add(time.Hour)))
	}
}
