package pgkit

// Multiplexing's public face: its errors, defaults and counters. The
// multiplexer itself is package internal/mux.

import (
	"github.com/shopdb/shopdb/pgkit/internal/mux"
)

// ErrSessionState is matched (errors.Is) by the error of a statement that a
// multiplexing DB refuses because it would change the state of a
// connection other callers share: SET, temporary tables, session advisory
// locks, LISTEN, PREPARE, cursors, explicit BEGIN/COMMIT. Run it in a
// transaction (WithTx), where it has the connection to itself, or on
// DB.Pool().
var ErrSessionState = mux.ErrSessionState

// DefaultMultiplexDepth is Config.MultiplexDepth's default: how many
// statements one connection carries at once, written or waiting to be,
// before new ones go elsewhere or wait (postgres.js's max_pipeline is 100
// too).
const DefaultMultiplexDepth = mux.DefaultDepth

// DefaultMultiplexConns is Config.MultiplexConns's default for a pool of
// maxConns: one and a half connections per CPU the Go runtime uses, at
// most maxConns−1 so that a transaction, a stream or a COPY always finds a
// connection the multiplexer does not hold (1 for MaxConns 2; 0 for
// MaxConns 1, which cannot multiplex). Measured on the bench machine (2
// CPUs, server on the same host), 3 lanes beat 2, 4, 8 and 16 on both the
// point and the page workload.
func DefaultMultiplexConns(maxConns int) int { return mux.DefaultConns(maxConns) }

// MultiplexStats counts what the multiplexer did, for metrics and tests.
type MultiplexStats struct {
	Lanes      int   // connections in pipeline mode right now
	Statements int64 // statements multiplexed so far
	Pipelined  int64 // statements written while earlier ones on the same connection awaited results
	Writes     int64 // writes to the connections (system calls): Statements/Writes is statements per round trip
	Prepares   int64 // statements prepared on a connection
	Waited     int64 // statements that waited for room (every lane at its depth)
	Exhausted  int64 // statements that failed with ErrPoolExhausted: not admitted, or not taken by a connection, within AcquireTimeout
	Resent     int64 // statements sent again (hit by a cancel meant for another, stale prepared statement)
	Cancels    int64 // cancel requests sent for abandoned statements
	LanesLost  int64 // lanes whose connection broke
}
