package pgkit

import (
	"errors"
	"fmt"
	"time"
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
