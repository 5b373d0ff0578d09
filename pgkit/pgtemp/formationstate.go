package pgtemp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// NodeState is a node as the monitor sees it (a row of its
// pgautofailover.node table).
type NodeState struct {
	// Node is the node's index, 0 or 1.
	Node int
	// Reported is the state the node's keeper last reported (single,
	// wait_primary, primary, secondary, catchingup, draining, demoted, …:
	// pg_auto_failover's replication states); Goal the one the monitor
	// assigned it. They are equal when the node has reached its goal.
	Reported, Goal string
	// PgIsRunning is whether the keeper last reported its postgres running.
	PgIsRunning bool
	// ReportTime is when the keeper last reported (every second or so
	// while it runs).
	ReportTime time.Time
}

// String is the state as "node0 primary" or, on its way, "node1
// catchingup→secondary".
func (s NodeState) String() string {
	st := s.Reported
	if s.Goal != s.Reported {
		st += "→" + s.Goal
	}
	if !s.PgIsRunning {
		st += " (postgres down)"
	}
	return nodeName(s.Node) + " " + st
}

// defaultWait bounds the waits of a Formation's methods when their
// context has no deadline.
const defaultWait = 2 * time.Minute

// withDefaultWait returns ctx bounded by defaultWait unless it has a
// deadline already.
func withDefaultWait(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, defaultWait)
}

// States returns the monitor's view of the nodes registered so far, in
// the order they registered.
func (f *Formation) States(ctx context.Context) ([]NodeState, error) {
	conn, err := pgx.Connect(ctx, f.MonitorURL())
	if err != nil {
		return nil, fmt.Errorf("pgtemp: monitor: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, `SELECT nodename, reportedstate::text, goalstate::text, coalesce(reportedpgisrunning, false), reporttime
		FROM pgautofailover.node WHERE formationid = 'default' ORDER BY nodeid`)
	if err != nil {
		return nil, fmt.Errorf("pgtemp: monitor: %w", err)
	}
	var out []NodeState
	for rows.Next() {
		var name string
		var s NodeState
		if err := rows.Scan(&name, &s.Reported, &s.Goal, &s.PgIsRunning, &s.ReportTime); err != nil {
			return nil, fmt.Errorf("pgtemp: monitor: %w", err)
		}
		switch name {
		case nodeName(0):
			s.Node = 0
		case nodeName(1):
			s.Node = 1
		default:
			return nil, fmt.Errorf("pgtemp: monitor: unknown node %q", name)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgtemp: monitor: %w", err)
	}
	return out, nil
}

// primaryStates are the states in which pg_auto_failover lets a node take
// writes.
var primaryStates = map[string]bool{"single": true, "wait_primary": true, "primary": true, "join_primary": true, "apply_settings": true}

// Primary returns the node the monitor says is the primary (reported and
// goal state one of single, wait_primary, primary, join_primary,
// apply_settings) once it has checked that this node really accepts a
// write; an error when there is none right now (during a failover) or it
// does not accept writes.
func (f *Formation) Primary(ctx context.Context) (int, error) {
	ctx, cancel := withDefaultWait(ctx)
	defer cancel()
	st, err := f.States(ctx)
	if err != nil {
		return -1, err
	}
	for _, s := range st {
		if s.Reported == s.Goal && primaryStates[s.Reported] {
			conn, err := pgx.Connect(ctx, f.NodeURL(s.Node))
			if err != nil {
				return -1, fmt.Errorf("pgtemp: the monitor's primary, %s: %w", nodeName(s.Node), err)
			}
			defer conn.Close(context.WithoutCancel(ctx))
			if err := probeWrite(ctx, conn); err != nil {
				return -1, fmt.Errorf("pgtemp: the monitor's primary, %s: %w", nodeName(s.Node), err)
			}
			return s.Node, nil
		}
	}
	return -1, fmt.Errorf("pgtemp: no primary now (monitor: %s)", f.describe())
}

// probeWrite returns nil when the session's server accepts writes: it is
// out of recovery, not read-only (a standby being promoted is read-only
// until the monitor lets it take writes), and commits a transaction that
// wrote WAL, a logical decoding message, which leaves no trace in any
// table. That commit waits for the synchronous standby when one is
// required, as every write's does, so a primary whose required standby
// is gone does not accept writes. (txid_current() would not do: a
// transaction that assigned an ID but wrote no WAL does not wait.)
func probeWrite(ctx context.Context, conn *pgx.Conn) error {
	var recovery, readOnly bool
	err := conn.QueryRow(ctx, `SELECT pg_is_in_recovery(), current_setting('transaction_read_only')::bool,
		CASE WHEN NOT pg_is_in_recovery() AND NOT current_setting('transaction_read_only')::bool
			THEN pg_logical_emit_message(true, 'pgtemp.probe', '') END IS NOT NULL`).Scan(&recovery, &readOnly, nil)
	switch {
	case err != nil:
		return err
	case recovery:
		return errors.New("in recovery")
	case readOnly:
		return errors.New("read-only")
	}
	return nil
}

// probeInterval is the pause between two write probes of a node.
const probeInterval = 5 * time.Millisecond

// WaitPrimary waits until a node accepts writes (out of recovery, not
// read-only, and a transaction that wrote WAL commits, so the synchronous
// standby, when one is required, confirmed it), probing both nodes
// every 5 ms, and returns that node and the instant the first write it
// accepted was answered. It does not ask the monitor: "the new primary
// accepts writes" is what clients see. With no deadline on ctx, it gives
// up after 2 minutes.
func (f *Formation) WaitPrimary(ctx context.Context) (node int, at time.Time, err error) {
	return f.waitWritable(ctx, -1)
}

// WaitNewPrimary is WaitPrimary for a node other than old: after a
// failover has begun, the instant the new primary accepted its first
// write, even while the old one still accepts writes (a planned failover
// started in another goroutine).
func (f *Formation) WaitNewPrimary(ctx context.Context, old int) (node int, at time.Time, err error) {
	return f.waitWritable(ctx, old)
}

func (f *Formation) waitWritable(ctx context.Context, except int) (int, time.Time, error) {
	ctx, cancel := withDefaultWait(ctx)
	defer cancel()
	ctx, found := context.WithCancel(ctx)
	defer found()
	type result struct {
		node int
		at   time.Time
	}
	results := make(chan result, len(f.ports))
	lastErr := make([]error, len(f.ports))
	done := make(chan struct{})
	running := 0
	for i := range f.ports {
		if i == except {
			continue
		}
		running++
		go func() {
			defer func() { done <- struct{}{} }()
			at, err := f.probeUntilWritable(ctx, i)
			if err == nil {
				results <- result{i, at}
				found()
			}
			lastErr[i] = err
		}()
	}
	for range running {
		<-done
	}
	select {
	case r := <-results:
		return r.node, r.at, nil
	default:
	}
	if f.stopped.Load() {
		return -1, time.Time{}, errStopped
	}
	var reasons []string
	for i, err := range lastErr {
		if err != nil {
			reasons = append(reasons, fmt.Sprintf("%s: %v", nodeName(i), err))
		}
	}
	return -1, time.Time{}, fmt.Errorf("pgtemp: no node accepts writes: %s (monitor: %s)", strings.Join(reasons, "; "), f.describe())
}

// probeUntilWritable probes node i until it accepts a write, keeping its
// connection between probes, and returns when the write was answered; or
// the last probe's error once ctx ends.
func (f *Formation) probeUntilWritable(ctx context.Context, i int) (time.Time, error) {
	var conn *pgx.Conn
	closeConn := func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(ctx)
		conn = nil
	}
	defer func() {
		if conn != nil {
			closeConn()
		}
	}()
	last := errors.New("not probed")
	for {
		if f.stopped.Load() {
			return time.Time{}, errStopped
		}
		attempt, cancel := context.WithTimeout(ctx, 2*time.Second)
		if conn == nil {
			c, err := pgx.Connect(attempt, f.NodeURL(i))
			if err == nil {
				conn = c
			} else {
				last = err
			}
		}
		if conn != nil {
			err := probeWrite(attempt, conn)
			if err == nil {
				cancel()
				return time.Now(), nil
			}
			last = err
			if conn.IsClosed() || attempt.Err() != nil {
				closeConn()
			}
		}
		cancel()
		select {
		case <-ctx.Done():
			return time.Time{}, last
		case <-time.After(probeInterval):
		}
	}
}

// WaitSecondary waits until the formation is whole again: one node
// primary and the other secondary, both as reported to the monitor, and
// the secondary streaming as the primary's synchronous standby
// (synchronous_standby_names set, its pg_stat_replication row streaming
// with sync_state sync or quorum). That is the state StartFormation
// returns in, and the one to wait for after a failover or after
// RestartNode. Both keepers must also have reported to the monitor more
// than a second after the call, so that a fault played just before is
// seen: the monitor may start a failover on the first report after a
// postmaster was killed, even once the keeper has restarted it. With no
// deadline on ctx, it gives up after 2 minutes.
func (f *Formation) WaitSecondary(ctx context.Context) error {
	ctx, cancel := withDefaultWait(ctx)
	defer cancel()
	fresh := time.Now().Add(time.Second)
	return f.waitFor(ctx, "a primary with a synchronous secondary", func(ctx context.Context) (bool, error) {
		st, err := f.States(ctx)
		if err != nil || len(st) != len(f.ports) {
			return false, nil
		}
		primary := -1
		for _, s := range st {
			if s.Reported != s.Goal || !s.ReportTime.After(fresh) {
				return false, nil
			}
			switch s.Reported {
			case "primary":
				primary = s.Node
			case "secondary":
			default:
				return false, nil
			}
		}
		if primary < 0 {
			return false, nil
		}
		return f.syncStandbyStreaming(ctx, primary), nil
	})
}

// syncStandbyStreaming reports whether the other node streams to node
// primary as its synchronous standby.
func (f *Formation) syncStandbyStreaming(ctx context.Context, primary int) bool {
	conn, err := pgx.Connect(ctx, f.NodeURL(primary))
	if err != nil {
		return false
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var names string
	var streaming int
	err = conn.QueryRow(ctx, `SELECT current_setting('synchronous_standby_names'),
		(SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming' AND sync_state IN ('sync', 'quorum'))`).Scan(&names, &streaming)
	return err == nil && names != "" && streaming > 0
}
