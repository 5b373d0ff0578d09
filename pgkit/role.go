package pgkit

// A pool meant for the primary: one whose connection string says
// target_session_attrs=primary or read-write. pgx checks the role of each
// server it connects to; what follows keeps the pool from using a
// connection whose server stopped being what the string asks for since:
//
//   - Each acquire reads what the server last reported of itself
//     (ParameterStatus in_hot_standby and, for read-write,
//     default_transaction_read_only: PostgreSQL 14 and later send them at
//     start and in the round trip after either changed; no query), and a
//     connection on a standby or read-only server is closed instead of
//     used (prepareConn). What an idle connection reports is only as
//     recent as its last round trip, so:
//   - a connection idle for a second or more is pinged first (pgkit's
//     liveness rule, liveness.go), and so is, after the pool lost a
//     connection or found one on the wrong server (the sign that the
//     servers changed), each connection idle since then (shouldPing). A
//     ping, not SELECT pg_is_in_recovery(): the same round trip, and the
//     server's reports that come with it tell a read-only primary (how
//     pg_auto_failover fences a node) as well as a standby.
//   - A write refused with SQLSTATE 25006 nonetheless (the server turned
//     read-only while the connection was busy, or a pooler in front that
//     does not pass the reports on) drops the pool's connections, at most
//     once a second (roleResetEvery), and its error matches
//     pgerr.IsWrongServerRole (role_refused.go).
//   - A multiplexed connection whose server reports the change gives its
//     connection up once its statements are answered (mux.Config.Unfit).

import (
	"context"
	"errors"
	"reflect"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// roleResetEvery is how often, at most, a pool meant for the primary drops
// its connections because writes were refused as read-only: a storm of
// refusals must not reopen the pool for each.
const roleResetEvery = time.Second

// targetRole is what a pool's connection string asks of its server.
type targetRole int

const (
	anyRole       targetRole = iota
	primaryRole              // target_session_attrs=primary: not in recovery
	readWriteRole            // target_session_attrs=read-write: not in recovery, not read-only
)

// targetRoleOf is the role target_session_attrs asks for in cc. pgx keeps
// no copy of the value, only the function that checks it, so the function
// is compared by identity (what pgx parsed, from the string or
// PGTARGETSESSIONATTRS).
func targetRoleOf(cc *pgconn.Config) targetRole {
	if cc.ValidateConnect == nil {
		return anyRole
	}
	switch reflect.ValueOf(cc.ValidateConnect).Pointer() {
	case reflect.ValueOf(pgconn.ValidateConnectTargetSessionAttrsPrimary).Pointer():
		return primaryRole
	case reflect.ValueOf(pgconn.ValidateConnectTargetSessionAttrsReadWrite).Pointer():
		return readWriteRole
	}
	return anyRole
}

// roleGuard keeps a pool meant for the primary off servers that are no
// longer one: pgxpool's ShouldPing and PrepareConn.
type roleGuard struct {
	role targetRole
	born time.Time // the base of suspectAt, on the monotonic clock
	// suspectAt is when, after born, the pool last lost a connection or
	// found one on the wrong server; 0 when not within the last second.
	suspectAt atomic.Int64
}

// guardRole installs a roleGuard's hooks on pcfg when its connection
// string is meant for the primary, and returns it (nil otherwise).
func guardRole(pcfg *pgxpool.Config) *roleGuard {
	role := targetRoleOf(&pcfg.ConnConfig.Config)
	if role == anyRole {
		return nil
	}
	g := &roleGuard{role: role, born: time.Now()}
	pcfg.ShouldPing = g.shouldPing
	pcfg.PrepareConn = g.prepareConn
	return g
}

// unfit reports whether pc's server, as it last reported itself, is not
// what the pool wants: a standby, or for read-write a read-only server.
// A server older than PostgreSQL 14 reports neither, and passes.
func (g *roleGuard) unfit(pc *pgconn.PgConn) bool {
	if pc.ParameterStatus("in_hot_standby") == "on" {
		return true
	}
	return g.role == readWriteRole && pc.ParameterStatus("default_transaction_read_only") == "on"
}

// unfitLane is unfit for a multiplexed connection, noting the find.
func (g *roleGuard) unfitLane(pc *pgconn.PgConn) bool {
	if !g.unfit(pc) {
		return false
	}
	g.suspect()
	return true
}

// prepareConn is the pool's PrepareConn: a connection on a server of the
// wrong role is destroyed, and pgxpool takes another (or makes one, which
// pgx checks as it connects).
func (g *roleGuard) prepareConn(_ context.Context, c *pgx.Conn) (bool, error) {
	if g.unfit(c.PgConn()) {
		g.suspect()
		return false, nil
	}
	return true, nil
}

// shouldPing is the pool's ShouldPing: pgkit's liveness rule, and also a
// connection idle since the pool last had reason to suspect its servers
// changed. Past a second that rule pings every such connection anyway, so
// the suspicion is dropped and the healthy path costs one atomic load
// again.
func (g *roleGuard) shouldPing(_ context.Context, p pgxpool.ShouldPingParams) bool {
	if p.IdleDuration >= pingIdle {
		return true
	}
	if p.IdleDuration >= peekIdle && spokeWhileIdle(p.Conn) {
		g.suspect() // the server ended the session, most likely
		return true
	}
	at := g.suspectAt.Load()
	if at == 0 {
		return false
	}
	since := time.Since(g.born) - time.Duration(at)
	if since >= pingIdle {
		g.suspectAt.CompareAndSwap(at, 0)
		return false
	}
	return p.IdleDuration > since
}

// suspect notes that the servers may have changed: a connection was lost,
// or found on a server of the wrong role.
func (g *roleGuard) suspect() {
	g.suspectAt.Store(max(1, int64(time.Since(g.born))))
}

// roleErr is what a DB meant for the primary does with the error of a
// statement: a lost connection makes it check its idle connections before
// their next use; a write refused as read-only drops its connections (at
// most once per roleResetEvery) and is typed for pgerr.IsWrongServerRole.
// Other DBs return err as it is.
func (d *DB) roleErr(err error) error {
	if err == nil || d == nil || d.role == nil {
		return err
	}
	if errors.Is(err, pgerr.ErrConnectionLost) {
		d.role.suspect()
		return err
	}
	return refusedAsReadOnly(err, d.resetForRole)
}

// resetForRole drops the pool's connections after a write was refused as
// read-only, at most once per roleResetEvery.
func (d *DB) resetForRole() bool { return d.resetAtMostEvery(roleResetEvery) }

// resetAtMostEvery drops every connection (those in use when they come
// back, multiplexed ones once their statements are answered) unless it
// did within every; it reports whether it did.
func (d *DB) resetAtMostEvery(every time.Duration) bool {
	now := time.Now().UnixNano()
	last := d.lastReset.Load()
	if now-last < int64(every) || !d.lastReset.CompareAndSwap(last, now) {
		return false
	}
	d.reset()
	return true
}
