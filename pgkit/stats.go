package pgkit

import (
	"fmt"
	"time"
)

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

// String formats the snapshot as one log line.
func (s PoolStats) String() string {
	return fmt.Sprintf("conns %d/%d (in use %d, idle %d, dialing %d); acquires %d, waited %d (%s), canceled %d, exhausted %d",
		s.TotalConns, s.MaxConns, s.InUse, s.Idle, s.Constructing, s.Acquires, s.WaitedAcquire, s.WaitTime.Round(time.Millisecond), s.Canceled, s.Exhausted)
}
