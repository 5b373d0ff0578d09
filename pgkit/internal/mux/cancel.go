package mux

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// The cancellation policy, in one place. A statement whose caller left
// (its context ended) is read and dropped when it ends. If it is the one
// running after cancelDelay, the server is asked to cancel it. If the
// lane then makes no progress at all (no message read, no write done)
// for abandonGrace while that statement is the one it waits for, the
// server answers neither the query nor the cancel: the connection is
// closed, and what was in flight on it fails as connection lost (never
// safe to retry). A lane never blocks writing (write.go), so waiting for
// the statement's result, or its Prepare's, is the only state to cover.

// watch arms the policy for req, whose caller left while a lane held it.
func (l *lane) watch(req *request) {
	if !req.watched.CompareAndSwap(false, true) {
		return
	}
	if l.head.Load() == req {
		l.planCancel(req)
	}
	l.guard(req, l.progress.Load())
}

// planCancel asks the server to cancel req after cancelDelay, if it is
// still the statement the lane waits for.
func (l *lane) planCancel(req *request) {
	if !req.cancelPlanned.CompareAndSwap(false, true) {
		return
	}
	time.AfterFunc(cancelDelay, func() {
		if l.head.Load() != req {
			return // it ended by itself
		}
		l.cancelling.Add(1)
		l.m.mu.Lock()
		l.m.stats.Cancels++
		l.m.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), abandonGrace)
		_ = l.pg.CancelRequest(ctx) // best effort: the guard backs it up
		cancel()
		l.lastCancelDone.Store(time.Now().UnixNano())
		l.cancelling.Add(-1)
	})
}

// guard closes the connection when req, abandoned and not yet answered,
// is what the lane waits for and the lane made no progress since seen;
// while the lane moves, it looks again later.
func (l *lane) guard(req *request, seen int64) {
	time.AfterFunc(cancelDelay+abandonGrace, func() {
		if req.finished.Load() {
			return
		}
		now := l.progress.Load()
		if now == seen && l.head.Load() == req {
			// Unblocks the lane's read with an error: the lane closes
			// the connection.
			_ = l.pg.Conn().SetDeadline(time.Unix(1, 0))
			return
		}
		l.guard(req, now)
	})
}

// resend sends req again when its failure says it did not run for its own
// reasons: hit by a cancel meant for another statement (unless it is a
// CALL: its procedure may have committed part of its work before the
// cancel came), or its prepared statement went stale (DISCARD, DEALLOCATE,
// or a schema change that altered its result columns: refused before it
// ran). It reports whether req was sent again. A
// stale statement's generation moves on (stmts.go), so that the resend,
// on whatever lane, and every other caller prepare it afresh.
func (l *lane) resend(req *request, st *stmt, err error) bool {
	if err == nil || req.abandoned.Load() || req.resent >= maxResends {
		return false
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	switch {
	case pgErr.Code == "57014" && !st.info.commitsMidway && !timedOut(pgErr) &&
		(l.cancelling.Load() > 0 || time.Since(time.Unix(0, l.lastCancelDone.Load())) < collateralWindow):
	case pgerr.IsStalePlan(pgErr):
		if l.m.cfg.StalePlan != nil {
			l.m.cfg.StalePlan()
		}
		st.info.gen.CompareAndSwap(st.gen, st.gen+1)
		if l.stmts.byName[req.sql] == st {
			// The server may still hold the old one under the same name.
			l.forget(req.sql)
		}
	default:
		return false
	}
	req.resent++
	l.m.mu.Lock()
	l.m.stats.Resent++
	l.m.mu.Unlock()
	l.sendBatch([]*request{req})
	return true
}

// timedOut reports a query_canceled error that the server's own
// statement_timeout raised, not a cancel request: sent again, it would
// time out again (a caller near other callers' cancels waited up to
// maxResends+1 timeouts). The server says which in the message; a
// translated message (lc_messages) is not recognised, and such a
// statement is resent as before, at most maxResends times.
func timedOut(e *pgconn.PgError) bool {
	return strings.Contains(e.Message, "statement timeout")
}
