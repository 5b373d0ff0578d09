package pgkit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrPoolExhausted is returned, wrapped in a *PoolExhaustedError, when every
// pooled connection stayed busy for the whole AcquireTimeout: the pool is too
// small for the load, or connections are held too long. It is the
// counterpart of asyncpg's pool acquire timeout.
var ErrPoolExhausted = errors.New("connection pool exhausted")

// PoolExhaustedError says how long a caller waited and how busy the pool was.
type PoolExhaustedError struct {
	Waited   time.Duration
	InUse    int32
	MaxConns int32
}

// Error describes the wait and the pool's occupancy.
func (e *PoolExhaustedError) Error() string {
	return fmt.Sprintf("%v: no connection free after %s (%d of %d in use)", ErrPoolExhausted, e.Waited, e.InUse, e.MaxConns)
}

// Is matches ErrPoolExhausted.
func (e *PoolExhaustedError) Is(target error) bool { return target == ErrPoolExhausted }

// acquire takes a connection, waiting at most the acquire timeout. pgxpool
// itself waits until ctx ends, which under overload means every request
// queues until its own deadline; failing fast sheds the load instead.
func (d *DB) acquire(ctx context.Context) (c *pgxpool.Conn, err error) {
	d.yieldIdleLanes()
	return d.acquireForLane(ctx)
}

// acquireForLane is acquire without yieldIdleLanes: the multiplexer takes
// its lanes' connections with it.
func (d *DB) acquireForLane(ctx context.Context) (c *pgxpool.Conn, err error) {
	err = d.bounded(ctx, func(actx context.Context) error {
		c, err = d.pool.Acquire(actx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("acquire connection: %w", err)
	}
	return c, nil
}

// yieldIdleLanes gives idle multiplexed connections back at once when a
// transaction, stream or COPY would otherwise wait for one: a lane
// lingers after its last statement, which must not cost them the wait.
func (d *DB) yieldIdleLanes() {
	if d.mx == nil {
		return
	}
	if st := d.pool.Stat(); st.IdleConns() == 0 && st.TotalConns() >= st.MaxConns() {
		d.mx.ReleaseIdle()
	}
}

// bounded runs acquire, which takes a pooled connection with the context
// it is given, with the acquire timeout applied, and names the failure:
// *PoolExhaustedError when the pool stayed full for the whole timeout.
func (d *DB) bounded(ctx context.Context, acquire func(context.Context) error) error {
	if d.acquireTimeout < 0 {
		return acquire(ctx)
	}
	actx, cancel := context.WithTimeout(ctx, d.acquireTimeout)
	defer cancel()
	err := acquire(actx)
	if err == nil {
		return nil
	}
	if ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
		d.timeouts.Add(1) // pgxpool counted it as canceled
		// Every connection open means they were all busy while we waited,
		// even if one came back since.
		if st := d.pool.Stat(); st.AcquiredConns() >= st.MaxConns() || st.TotalConns() >= st.MaxConns() {
			return d.exhaustedError()
		}
		return fmt.Errorf("no connection after %s, the pool is not full: the server is slow to accept connections: %w", d.acquireTimeout, err)
	}
	return err
}

// exhaustedError counts a caller that waited the whole acquire timeout for
// a connection (or, multiplexing, for room on one) and returns its error:
// the one place a *PoolExhaustedError is made.
func (d *DB) exhaustedError() error {
	d.exhausted.Add(1)
	st := d.pool.Stat()
	return &PoolExhaustedError{Waited: d.acquireTimeout, InUse: st.AcquiredConns(), MaxConns: st.MaxConns()}
}

// PoolStats is a snapshot of the pool, in plain fields for logs and metrics.
type PoolStats struct {
	MaxConns      int32 // the pool's cap
	TotalConns    int32 // open connections, idle or in use
	InUse         int32 // acquired right now
	Idle          int32
	Constructing  int32 // being dialed
	Acquires      int64 // successful acquires so far
	WaitedAcquire int64 // acquires that had to wait for a connection
	WaitTime      time.Duration
	Canceled      int64 // acquires abandoned because the caller's context ended
	Exhausted     int64 // acquires that failed with ErrPoolExhausted (not counted in Canceled)
}

// Stats reports the pool's occupancy and counters.
func (d *DB) Stats() PoolStats {
	// pgxpool counts an acquire that our AcquireTimeout ended as canceled;
	// it was not the caller's doing. Read ours first: pgxpool has counted
	// every timeout we have, so the difference is never negative.
	timeouts := d.timeouts.Load()
	exhausted := d.exhausted.Load()
	s := d.pool.Stat()
	return PoolStats{
		MaxConns:      s.MaxConns(),
		TotalConns:    s.TotalConns(),
		InUse:         s.AcquiredConns(),
		Idle:          s.IdleConns(),
		Constructing:  s.ConstructingConns(),
		Acquires:      s.AcquireCount(),
		WaitedAcquire: s.EmptyAcquireCount(),
		WaitTime:      s.AcquireDuration(),
		Canceled:      max(0, s.CanceledAcquireCount()-timeouts),
		Exhausted:     exhausted,
	}
}

// String formats the snapshot as one log line.
func (s PoolStats) String() string {
	return fmt.Sprintf("conns %d/%d (in use %d, idle %d, dialing %d); acquires %d, waited %d (%s), canceled %d, exhausted %d",
		s.TotalConns, s.MaxConns, s.InUse, s.Idle, s.Constructing, s.Acquires, s.WaitedAcquire, s.WaitTime.Round(time.Millisecond), s.Canceled, s.Exhausted)
}
