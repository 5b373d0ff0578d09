package pgkit

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// AcquireReleaseForTest takes a pooled connection the way every statement
// does (the acquire timeout, the reconnect gate, the pool's hooks) and
// gives it back: the healthy path's cost without a round trip, for
// BenchmarkAcquireRelease.
func (d *DB) AcquireReleaseForTest(ctx context.Context) error {
	c, err := d.acquire(ctx)
	if err != nil {
		return err
	}
	c.Release()
	return nil
}

// AcquireHooksForTest runs, on c, the hooks pgxpool calls on each acquire
// of an idle connection of d's pool: pgkit's liveness rule (shouldPing)
// and, for a pool meant for the primary, the role check (its shouldPing
// and prepareConn). It reports whether the connection would be handed
// out without a ping. For BenchmarkAcquireHooks.
func (d *DB) AcquireHooksForTest(ctx context.Context, c *pgxpool.Conn) bool {
	p := pgxpool.ShouldPingParams{Conn: c.Conn(), IdleDuration: time.Millisecond}
	if d.role == nil {
		return !shouldPing(ctx, p)
	}
	if d.role.shouldPing(ctx, p) {
		return false
	}
	ok, _ := d.role.prepareConn(ctx, c.Conn())
	return ok
}

// GatePassForTest runs a no-op acquire through d's reconnect gate, as
// every acquire does, for BenchmarkAcquireHooks.
func (d *DB) GatePassForTest(ctx context.Context) error {
	return d.gate.pass(ctx, d.wouldConnect, func(context.Context) error { return nil })
}

// PingsForTest reports whether an acquire of c, idle for idle, would ping
// it first: pgkit's liveness rule (shouldPing) and, for a pool meant for
// the primary, the role guard's.
func (d *DB) PingsForTest(ctx context.Context, c *pgxpool.Conn, idle time.Duration) bool {
	p := pgxpool.ShouldPingParams{Conn: c.Conn(), IdleDuration: idle}
	if d.role == nil {
		return shouldPing(ctx, p)
	}
	return d.role.shouldPing(ctx, p)
}

// AcquirePool is acquirePool, and DeadIdleConns deadIdleConns, for
// TestAcquirePoolAfterDeadIdleConnections.
var (
	AcquirePool   = acquirePool
	DeadIdleConns = deadIdleConns
)
