package pgkit

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
)

// A COMMIT waiting for the synchronous standbys that is cancelled (a
// CancelRequest from anyone: pg_cancel_backend, a client's Ctrl-C, a
// cancel meant for the statement before) stops waiting and succeeds: the
// transaction has committed on the primary, and the server says so only
// with a WARNING ("canceling wait for synchronous replication … The
// transaction has already committed locally, but might not have been
// replicated to the standby"), which pgx hands to Config.OnNotice. pgkit's
// pools mark a connection that received a warning; a COMMIT so marked is
// looked up as one whose answer was lost (resolveCommit), so that it is
// success only once the standbys hold it. The warning's text is in the
// server's language, so any warning with the generic SQLSTATE 01000 counts
// (a deferred trigger's RAISE WARNING too: it costs a lookup, no more).
// Connections pgkit did not configure (Wrap) are not marked.

// syncCutKey is the key of the mark in a connection's CustomData.
const syncCutKey = "pgkit.warned"

// errSyncWaitCut is the cause of a COMMIT that succeeded with a warning.
var errSyncWaitCut = errors.New("pgkit: the COMMIT succeeded with a warning (its wait for the synchronous standbys may have been cancelled): it may have committed on the primary only")

// markWarnings returns the OnNotice handler of pgkit's pools: it marks
// the connection on a warning of SQLSTATE 01000, then calls next (the
// caller's own handler), if any.
func markWarnings(next pgconn.NoticeHandler) pgconn.NoticeHandler {
	return func(c *pgconn.PgConn, n *pgconn.Notice) {
		if n.Code == "01000" && (n.SeverityUnlocalized == "WARNING" || n.SeverityUnlocalized == "" && n.Severity == "WARNING") {
			c.CustomData()[syncCutKey] = true
		}
		if next != nil {
			next(c, n)
		}
	}
}

// takeWarned reports whether c was marked since the last call, and
// clears the mark.
func takeWarned(c *pgconn.PgConn) bool {
	d := c.CustomData()
	_, warned := d[syncCutKey]
	delete(d, syncCutKey)
	return warned
}
