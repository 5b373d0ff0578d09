package pgtemp

import (
	"context"
	"fmt"
	"strconv"
	"syscall"
	"time"
)

// Failover performs a planned failover, `pg_autoctl perform failover`:
// the monitor has the primary stop taking writes and its standby promoted,
// then the old primary rejoins as the standby. It returns once the other
// node is the primary and accepts writes (pg_autoctl waits for the monitor
// to report it, WaitNewPrimary for a write), which is normally after the
// old primary is a secondary again; WaitSecondary waits for that. To
// measure the failover as clients see it, run Failover in a goroutine and
// WaitNewPrimary beside it. With no deadline on ctx, it gives up after 2
// minutes.
func (f *Formation) Failover(ctx context.Context) error {
	ctx, cancel := withDefaultWait(ctx)
	defer cancel()
	old, err := f.Primary(ctx)
	if err != nil {
		return fmt.Errorf("pgtemp: failover: %w", err)
	}
	if err := f.requestFailover(ctx, old); err != nil {
		return err
	}
	if _, _, err := f.WaitNewPrimary(ctx, old); err != nil {
		return fmt.Errorf("pgtemp: failover: %w", err)
	}
	return nil
}

// FailoverTimed is Failover measured as clients see it: beside the
// request it waits for another node than the primary to accept a write
// (WaitNewPrimary), and returns that node and the instant its first
// write was answered, once the request has returned too. When the request
// fails (the monitor refused it), the wait ends at once, with that error.
func (f *Formation) FailoverTimed(ctx context.Context) (node int, at time.Time, err error) {
	ctx, cancel := withDefaultWait(ctx)
	defer cancel()
	old, err := f.Primary(ctx)
	if err != nil {
		return -1, time.Time{}, fmt.Errorf("pgtemp: failover: %w", err)
	}
	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	requested := make(chan error, 1)
	go func() {
		err := f.requestFailover(ctx, old)
		if err != nil {
			wcancel() // no new primary is coming
		}
		requested <- err
	}()
	node, at, werr := f.WaitNewPrimary(wctx, old)
	if ferr := <-requested; ferr != nil {
		return -1, time.Time{}, ferr
	}
	return node, at, werr
}

// requestFailover asks the monitor for a planned failover of the primary
// old and returns once pg_autoctl reports it done.
func (f *Formation) requestFailover(ctx context.Context, old int) error {
	wait := "60"
	if d, ok := ctx.Deadline(); ok {
		wait = strconv.Itoa(max(1, int(time.Until(d).Seconds())))
	}
	// On the monitor: it is never a fault's target, and the command
	// needs only its configuration to reach it. The monitor refuses a
	// failover while it holds the standby unhealthy, which its tight
	// health checks do for a moment on a loaded machine; such a refusal
	// is asked again, a second apart, as long as the formation is as it
	// was (the same primary, the other node its secondary, no failover
	// under way), so that a failover is never requested twice.
	for {
		_, err := f.monitor.run(ctx, "perform", "failover", "--pgdata", f.monitor.data(), "--wait", wait)
		if err == nil {
			break
		}
		if ctx.Err() != nil || !f.untouched(ctx, old) {
			return fmt.Errorf("pgtemp: failover: %w (monitor: %s)", err, f.describe())
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pgtemp: failover: %w (monitor: %s)", err, f.describe())
		case <-time.After(time.Second):
		}
	}
	return nil
}

// untouched reports whether the monitor shows the formation as before a
// failover: node primary, every other node secondary, each at its goal.
func (f *Formation) untouched(ctx context.Context, primary int) bool {
	st, err := f.States(ctx)
	if err != nil {
		return false
	}
	for _, s := range st {
		want := "secondary"
		if s.Node == primary {
			want = "primary"
		}
		if s.Reported != want || s.Goal != want {
			return false
		}
	}
	return len(st) == len(f.ports)
}

// KillPostmaster kills node's postmaster with SIGKILL (its PID from
// postmaster.pid), as a crash of the server would, and returns once it
// has exited. Its backends follow it; its keeper is left running and
// reacts as pg_auto_failover does: it restarts postgres (crash recovery)
// within about a second, and the monitor, told by the keeper that
// postgres was down, may fail over all the same (it did in about half of
// the runs here, the old primary rejoining as the secondary). WaitPrimary
// sees writes accepted again; WaitSecondary waits until that fault has
// played out.
func (f *Formation) KillPostmaster(ctx context.Context, node int) error {
	ctx, cancel := withDefaultWait(ctx)
	defer cancel()
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.node(node)
	if err != nil {
		return err
	}
	pid, err := n.postmasterPID()
	if err != nil {
		return err
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("pgtemp: kill the postmaster of %s (pid %d): %w", n.name, pid, err)
	}
	return waitExited(ctx, pid)
}

// KillNode kills everything of node with SIGKILL, as the loss of its
// machine would: its keeper (pg_autoctl and its sub-processes), its
// postmaster and its backends; it returns once all of them have exited.
// The monitor fails a lost primary over within its timeouts (about 10 s
// with the settings of formationsettings.go); a lost standby makes the
// primary go on alone (wait_primary: no synchronous standby required).
// RestartNode brings the node back.
func (f *Formation) KillNode(ctx context.Context, node int) error {
	ctx, cancel := withDefaultWait(ctx)
	defer cancel()
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.node(node)
	if err != nil {
		return err
	}
	return n.kill(ctx)
}

// RestartNode starts node's keeper again (`pg_autoctl run`) on the same
// data directory and port, after KillNode. It returns once the keeper is
// started; the keeper starts postgres and the node rejoins as the
// standby of whichever node is primary (after pg_rewind when it was the
// old primary), which WaitSecondary waits for. Restarting a node whose
// keeper runs is an error.
func (f *Formation) RestartNode(ctx context.Context, node int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, err := f.node(node)
	if err != nil {
		return err
	}
	if n.running() {
		return fmt.Errorf("pgtemp: restart %s: its keeper is running", n.name)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Backends of the killed postmaster that still hold its shared
	// memory would keep the new one from starting.
	if err := killIn(ctx, n.data()); err != nil {
		return err
	}
	return n.start("run", "--pgdata", n.data())
}

// node returns node i's service; f.mu must be held.
func (f *Formation) node(i int) (*autoctl, error) {
	if f.stopped.Load() {
		return nil, errStopped
	}
	if i < 0 || i >= len(f.nodes) {
		return nil, fmt.Errorf("pgtemp: no node %d: nodes are 0 and 1", i)
	}
	return f.nodes[i], nil
}
