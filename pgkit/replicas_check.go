package pgkit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// node is one DSN of a Replicated and what its last check found.
type node struct {
	dsn     string             // "" for the primary DSN's node, whose db is always set
	db      atomic.Pointer[DB] // nil until opened
	healthy atomic.Bool        // reads go to it
	up      atomic.Bool        // the last check had its answer
	standby atomic.Bool        // in recovery at the last check that reached it
	lag     atomic.Int64       // nanoseconds, as last measured

	// Written and read by check only, which never runs twice at once.
	measured bool // standby was measured at least once
	resetDue bool // the primary DSN's: its pool reached a standby since its last Reset
}

func (n *node) stat() ReplicaStat {
	return ReplicaStat{Healthy: n.healthy.Load(), Lag: time.Duration(n.lag.Load()), Reachable: n.up.Load(), Standby: n.standby.Load()}
}

// primaryLike reports whether the last check found n a primary.
func (n *node) primaryLike() bool { return n.measured && !n.standby.Load() }

// open opens n's pool, unless it is open.
func (r *Replicated) open(ctx context.Context, n *node) error {
	if n.db.Load() != nil {
		return nil
	}
	db, err := Open(ctx, n.dsn, r.cfg)
	if err != nil {
		return err
	}
	n.db.Store(db)
	return nil
}

// checkTimeout is the least a check waits for a node's answer.
const checkTimeout = time.Second

func (r *Replicated) watch() {
	defer r.done.Done()
	tick := time.NewTicker(r.rcfg.CheckInterval)
	defer tick.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-r.stop
		cancel() // a check in progress gives up
	}()
	for {
		select {
		case <-r.stop:
			return
		case <-tick.C:
			r.check(ctx, true)
		}
	}
}

// measurement is one node's answer to a check.
type measurement struct {
	err       error
	standby   bool
	lsn       uint64        // WAL written (a primary) or replayed (a standby)
	replayAge time.Duration // since the last transaction a standby replayed
}

// measureSQL asks a node its role, its WAL position and, on a standby, the
// age of the last transaction it replayed.
const measureSQL = `SELECT pg_is_in_recovery(),
	(CASE WHEN pg_is_in_recovery() THEN coalesce(pg_last_wal_replay_lsn(), '0/0') ELSE pg_current_wal_lsn() END)::text,
	coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0)::float8`

// check measures every node and sets which take reads. The primary DSN's
// node and the nodes last found primaries answer first, so that the WAL
// position a standby is compared with was read before the standby's: a
// standby is not behind a write that came after its own answer. With
// openMissing, the pools of nodes not open yet are opened.
func (r *Replicated) check(ctx context.Context, openMissing bool) {
	ms := make([]measurement, len(r.nodes))
	var first, rest []int
	for i, n := range r.nodes {
		if i == 0 || n.primaryLike() {
			first = append(first, i)
		} else {
			rest = append(rest, i)
		}
	}
	r.measure(ctx, first, ms, openMissing)
	r.measure(ctx, rest, ms, openMissing)

	ref, haveRef := uint64(0), false
	for _, i := range append(first, rest...) {
		if m := ms[i]; m.err == nil && !m.standby {
			ref, haveRef = m.lsn, true
			break
		}
	}
	for i, n := range r.nodes {
		m := ms[i]
		n.up.Store(m.err == nil)
		if m.err == nil {
			if i == 0 {
				r.primaryMeasured(n, m.standby)
			}
			n.standby.Store(m.standby)
			n.measured = true
			if m.standby && haveRef {
				lag := m.replayAge
				if m.lsn >= ref {
					lag = 0
				}
				n.lag.Store(int64(lag))
			}
		}
		n.healthy.Store(m.err == nil && m.standby && time.Duration(n.lag.Load()) <= r.rcfg.MaxLag)
	}
}

// measure asks the nodes at idx at once, each within its own timeout.
func (r *Replicated) measure(ctx context.Context, idx []int, ms []measurement, openMissing bool) {
	var wg sync.WaitGroup
	for _, i := range idx {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, max(r.rcfg.CheckInterval, checkTimeout))
			defer cancel()
			ms[i] = r.measureNode(ctx, r.nodes[i], openMissing)
		})
	}
	wg.Wait()
}

func (r *Replicated) measureNode(ctx context.Context, n *node, openMissing bool) measurement {
	if n.db.Load() == nil {
		if !openMissing {
			return measurement{err: errNotOpen}
		}
		if err := r.open(ctx, n); err != nil {
			return measurement{err: err}
		}
	}
	var m measurement
	var lsn string
	var age float64
	if m.err = n.db.Load().QueryRow(ctx, measureSQL).Scan(&m.standby, &lsn, &age); m.err != nil {
		return m
	}
	m.replayAge = time.Duration(age * float64(time.Second))
	m.lsn, m.err = parseLSN(lsn)
	return m
}

// errNotOpen is the measurement of a node whose pool is not open yet.
var errNotOpen = errors.New("pgkit: replica not open yet")

// parseLSN parses a pg_lsn's text, "16/B374D848".
func parseLSN(s string) (uint64, error) {
	var hi, lo uint32
	if _, err := fmt.Sscanf(s, "%X/%X", &hi, &lo); err != nil {
		return 0, fmt.Errorf("pgkit: pg_lsn %q: %w", s, err)
	}
	return uint64(hi)<<32 | uint64(lo), nil
}

// primaryMeasured acts on the primary DSN's node found in recovery
// (standby) or not: its pool's connections are dropped while it reaches a
// standby, and once more when it reaches a primary again, so that none
// made meanwhile stays on a standby.
func (r *Replicated) primaryMeasured(n *node, standby bool) {
	if standby {
		n.resetDue = true
	}
	if n.resetDue && r.resetPrimary() && !standby {
		n.resetDue = false
	}
}

// resetPrimary drops the primary pool's connections (those in use when
// they come back), at most once per CheckInterval; it reports whether it
// did.
func (r *Replicated) resetPrimary() bool { return r.primary.resetAtMostEvery(r.rcfg.CheckInterval) }

// wrongRole types err when it is a write the primary DSN's server refused
// for being read-only (see refusedAsReadOnly), and drops the primary's
// pool then (resetPrimary).
func (r *Replicated) wrongRole(err error) error { return refusedAsReadOnly(err, r.resetPrimary) }
