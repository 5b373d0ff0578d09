package db

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
func (d *DB) acquire(ctx context.Context) (*pgxpool.Conn, error) {
	if d.acquireTimeout < 0 {
		return d.pool.Acquire(ctx)
	}
	actx, cancel := context.WithTimeout(ctx, d.acquireTimeout)
	defer cancel()
	c, err := d.pool.Acquire(actx)
	if err == nil {
		return c, nil
	}
	if ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
		st := d.pool.Stat()
		if st.AcquiredConns() >= st.MaxConns() {
			d.exhausted.Add(1)
			return nil, &PoolExhaustedError{Waited: d.acquireTimeout, InUse: st.AcquiredConns(), MaxConns: st.MaxConns()}
		}
		return nil, fmt.Errorf("acquire connection: no connection after %s, the pool is not full: the server is slow to accept connections: %w", d.acquireTimeout, err)
	}
	return nil, fmt.Errorf("acquire connection: %w", err)
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
	Canceled      int64 // acquires abandoned because their context ended
	Exhausted     int64 // acquires that failed with ErrPoolExhausted
}

// Stats reports the pool's occupancy and counters.
func (d *DB) Stats() PoolStats {
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
		Canceled:      s.CanceledAcquireCount(),
		Exhausted:     d.exhausted.Load(),
	}
}

// String formats the snapshot as one log line.
func (s PoolStats) String() string {
	return fmt.Sprintf("conns %d/%d (in use %d, idle %d, dialing %d); acquires %d, waited %d (%s), canceled %d, exhausted %d",
		s.TotalConns, s.MaxConns, s.InUse, s.Idle, s.Constructing, s.Acquires, s.WaitedAcquire, s.WaitTime.Round(time.Millisecond), s.Canceled, s.Exhausted)
}
