package pgkit

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// readFailed notes that a read failed with err on the standby n (which
// then takes no reads until its next check when the fault is the node's)
// and reports whether the read is to run again on the primary: the rule
// on Replicated.
func (r *Replicated) readFailed(ctx context.Context, n *node, err error) bool {
	if err == nil {
		return false
	}
	broken := errors.Is(err, pgerr.ErrConnectionLost) || pgerr.IsWrongServerRole(err)
	switch pgerr.SQLState(err) {
	case "53300", "57P04": // too many connections; the database was dropped (recovery)
		broken = true
	}
	if broken {
		n.healthy.Store(false)
	}
	if ctx.Err() != nil {
		return false // the caller's context ended: not the standby's fault
	}
	switch pgerr.SQLState(err) {
	case "40001", "40P01": // on a standby, only a conflict with recovery cancels an autocommit read so
		return true
	}
	return broken
}

// replicaRows are a read's rows on a standby: when they end with an error
// that readFailed reruns before a row was returned, the read runs again on
// the primary and its rows take over.
type replicaRows struct {
	pgx.Rows // the standby's, then the primary's
	r        *Replicated
	n        *node
	ctx      context.Context
	run      runFunc
	sql      string
	args     []any
	settled  bool  // a row was returned, or the read ran again
	err      error // of running the read again
}

// Next moves to the next row, running the read again on the primary when
// the standby broke before the first.
func (x *replicaRows) Next() bool {
	if x.Rows.Next() {
		x.settled = true
		return true
	}
	err := x.Rows.Err()
	if x.settled || x.err != nil {
		if x.n != nil {
			x.r.readFailed(x.ctx, x.n, err) // the node broke after rows: mark it down
			x.n = nil
		}
		return false
	}
	x.settled = true
	if !x.r.readFailed(x.ctx, x.n, err) {
		return false
	}
	x.n = nil
	rows, err := x.run(x.r.primary, x.ctx, x.sql, x.args...)
	if err != nil {
		x.err = err
		return false
	}
	x.Rows = rows
	return rows.Next()
}

// Err is the error that ended the rows: the rerun's when it could not be
// sent, else the rows' own, typed.
func (x *replicaRows) Err() error {
	if x.err != nil {
		return x.err
	}
	return x.Rows.Err()
}
