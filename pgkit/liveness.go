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

// peekIdle is how long a connection must have sat idle for an acquire to
// peek at its socket (serverSpoke) first. A connection given back and
// taken again within it, as a busy pool's are (microseconds apart), is
// handed out as it is: the peek is a system call, which cost every
// statement of a busy pool a few microseconds (issue 18), and a server
// that ended the session in that millisecond is one that ended it while
// the connection was as good as in use, when nothing can save the
// statement sent. Past it the peek costs at most a system call per
// millisecond of a connection's idleness, and a connection that sat idle
// while the server restarted, or an admin or idle_session_timeout ended
// its session, is still found dead before any statement is sent on it.
const peekIdle = time.Millisecond

// shouldPing is pgxpool's ShouldPing for pgkit's pools: it pings, as
// pgxpool does by default, a connection idle for a second or more, and also
// any connection idle for peekIdle or more that the server has written to
// or closed since. The server writes to an idle connection when it
// terminates its backend (pg_terminate_backend, a restart,
// idle_session_timeout): the next query on it would fail with SQLSTATE
// 57P01 after it was sent, with no way to tell whether it ran. The ping
// finds out first; pgxpool then destroys the connection and takes
// another.
//
// pgconn's CheckConn asks the same with a 1 ms read timeout, which would
// cost every acquire a millisecond; a non-blocking peek at the socket
// (serverSpoke) costs one system call.
func shouldPing(_ context.Context, p pgxpool.ShouldPingParams) bool {
	return p.IdleDuration >= pingIdle || p.IdleDuration >= peekIdle && spokeWhileIdle(p.Conn)
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
