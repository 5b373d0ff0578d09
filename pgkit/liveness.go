package pgkit

import (
	"context"
	"crypto/tls"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pingIdle is how long a connection may sit idle before an acquire pings
// it, as pgxpool does by default.
const pingIdle = time.Second

// shouldPing is pgxpool's ShouldPing for pgkit's pools: it pings, as
// pgxpool does by default, a connection idle for a second or more, and also
// any connection the server has already written to or closed while it sat
// idle. The server writes to an idle connection when it terminates its
// backend (pg_terminate_backend, a restart, idle_session_timeout): the next
// query on it would fail with SQLSTATE 57P01 after it was sent, with no
// way to tell whether it ran. The ping finds out first; pgxpool then
// destroys the connection and takes another.
//
// pgconn's CheckConn asks the same with a 1 ms read timeout, which would
// cost every acquire a millisecond; a non-blocking peek at the socket
// (serverSpoke) costs one system call.
func shouldPing(_ context.Context, p pgxpool.ShouldPingParams) bool {
	return p.IdleDuration >= pingIdle || spokeWhileIdle(p.Conn)
}

// spokeWhileIdle reports whether the server wrote to c, or closed it, while
// it sat idle in the pool.
func spokeWhileIdle(c *pgx.Conn) bool {
	nc := c.PgConn().Conn()
	if t, ok := nc.(*tls.Conn); ok {
		nc = t.NetConn()
	}
	return serverSpoke(nc)
}
