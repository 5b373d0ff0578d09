package pgkit

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
)

// acquirePool is pgxpool's Acquire, again while it gives up only because
// the idle connections it tried were dead. pgxpool tries MaxConns+1 idle
// connections; when the server (or a proxy) has reset more of them than
// that, each fails its ping (shouldPing), is destroyed, and Acquire
// returns an untyped "too many failed attempts" error although the next
// attempt would make a new connection. Those connections are gone, so
// trying again is bounded by what is left of them, by ctx (the acquire's
// own deadline, AcquireTimeout) and by maxAcquireRounds. pgxpool exports
// no value for
// that error: it is matched by its text, which its tests pin
// (TestAcquirePoolAfterDeadIdleConnections).
func acquirePool(ctx context.Context, pool *pgxpool.Pool) (c *pgxpool.Conn, err error) {
	for range maxAcquireRounds {
		c, err = pool.Acquire(ctx)
		if err == nil || !deadIdleConns(err) || ctx.Err() != nil {
			return c, err
		}
	}
	return nil, err
}

// maxAcquireRounds caps acquirePool's attempts: each destroys up to
// MaxConns+1 dead connections, so a second nearly always succeeds.
const maxAcquireRounds = 8

// deadIdleConns reports pgxpool's error for an acquire whose every
// attempt found a dead idle connection.
func deadIdleConns(err error) bool {
	return strings.Contains(err.Error(), "pgxpool: too many failed attempts acquiring connection")
}
