package pgkit

// The executor: how DB runs an autocommit statement, pooled or
// multiplexed, and the one place that decides when a statement is run
// again. Every path returns pgx.Rows of its own (mappedRows, over pgx's or
// the multiplexer's), so Replicated, Tx, Pipeline, Gather, streams and
// COPY never look at which.
//
// A statement is run again only when it cannot have run:
//   - its connection was found dead before any byte of it was written
//     (pgconn.SafeToRetry, which pgx ≥ 5.13 reports only then): once;
//   - the server refused its prepared statement as stale (a schema change
//     altered its result, "cached plan must not change result type";
//     DISCARD), before any row reached the caller: pgx forgets the
//     statement on that connection, so each connection fails at most once
//     and the statement is run again, up to maxStaleReruns times.
// A statement in flight when its connection broke is never run again: it
// may have committed (its error is pgerr.ErrConnectionLost).
//
// Arguments reach pgx as values: a pointer of a common type (*string,
// *int64, *time.Time, …, what sqlc's emit_pointers_for_null_types makes of
// a nullable parameter) is replaced by what it points to, nil by nil,
// before pgx, which would dereference it by reflection, sees it
// (concreteArgs, args.go; also in transactions, batches and Pipeline).

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shopdb/shopdb/pgkit/internal/mux"
	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// maxStaleReruns caps the reruns of one statement whose prepared plan was
// stale: one per pooled connection that may hold a stale copy, bounded.
const maxStaleReruns = 8

// exec runs sql as an autocommit statement: multiplexed when the DB
// multiplexes and args allow, else on a pooled connection.
func (d *DB) exec(ctx context.Context, sql string, args []any) (pgconn.CommandTag, error) {
	args = concreteArgs(args) // values, not pointers pgx would dereference by reflection (args.go)
	if d.mx != nil && mux.Multiplexable(args) {
		tag, err := d.mx.Exec(ctx, sql, args)
		return tag, muxOutcome(ctx, sql, "", err) // Exec: taken to write, whatever its SQL looks like
	}
	again := reruns{plans: d.plans}
	for {
		c, err := d.acquire(ctx)
		if err != nil {
			return pgconn.CommandTag{}, pgerr.Map(ctx, sql, err)
		}
		tag, err := c.Exec(ctx, sql, args...)
		c.Release()
		if again.may(ctx, err) {
			continue
		}
		// Exec is taken to write, whatever its SQL looks like: it is how a
		// SELECT of a function that writes is to be called.
		return tag, autocommitOutcome(ctx, "", pgerr.Map(ctx, sql, err))
	}
}

// muxOutcome types a multiplexed statement's error: unknown outcome only
// when the multiplexer says it was in flight (mux.InFlight); every other
// failure of a lane (no connection for it) came before it was written.
// outcome is what autocommitOutcome judges: sql, or "" for a statement
// taken to write whatever its SQL says (Exec).
func muxOutcome(ctx context.Context, sql, outcome string, err error) error {
	mapped := pgerr.Map(ctx, sql, err)
	if !mux.InFlight(err) {
		return mapped
	}
	return autocommitOutcome(ctx, outcome, mapped)
}

// reruns counts what was run again of one statement, and decides whether
// it may run again: the rule at the top of this file, in one place.
type reruns struct {
	dead  bool        // replaced a connection found dead before the statement left
	stale int         // reran after a stale plan
	plans *planEpochs // told of a stale plan met; nil: nobody
}

// may reports whether a statement that failed with err, its ctx still
// live, cannot have run and may run again, and counts the rerun.
func (n *reruns) may(ctx context.Context, err error) bool {
	switch {
	case err == nil || ctx.Err() != nil:
		return false
	case !n.dead && pgconn.SafeToRetry(err):
		n.dead = true
		return true
	case n.stale < maxStaleReruns && pgerr.IsStalePlan(err):
		n.stale++
		if n.plans != nil {
			n.plans.stale()
		}
		return true
	}
	return false
}

// query runs sql as an autocommit statement and returns its rows:
// multiplexed (all in memory) when the DB multiplexes, args allow and
// stream is false; else read off a pooled connection of their own as the
// caller asks for them. ctx is caller's with QueryTimeout applied; cancel
// ends that deadline: called when the rows are done with, or at once when
// in memory (whose reading then stops only when caller's context ends).
func (d *DB) query(caller, ctx context.Context, cancel context.CancelFunc, sql string, args []any, stream bool) (pgx.Rows, error) {
	args = concreteArgs(args) // as in exec
	if !stream && d.mx != nil && mux.Multiplexable(args) {
		defer cancel() // the rows are in memory once returned
		rows, err := d.mx.Query(ctx, sql, args)
		if err != nil {
			return nil, muxOutcome(ctx, sql, sql, err)
		}
		rows.WatchContext(caller)
		// No context for what follows: the statement is over, and ctx is
		// cancelled at return (a decode error is not a cancellation).
		return &mappedRows{Rows: rows, sql: sql, dec: decoding{decs: d.decoders}}, nil // answered in full: no outcome left to lose
	}
	r := &mappedRows{ctx: ctx, sql: sql, cancel: cancel, db: d, args: args, autocommit: true}
	if err := r.run(); err != nil {
		cancel()
		return nil, err
	}
	return r, nil
}

// queryRow is QueryRow: Query's rows, and their first row. On a pooled
// connection the rows and the row are one allocation (pooledRow), as
// pgx's own QueryRow.
func (d *DB) queryRow(caller context.Context, sql string, args []any) pgx.Row {
	ctx, cancel := d.deadline(caller)
	if d.mx != nil && mux.Multiplexable(args) {
		rows, err := d.query(caller, ctx, cancel, sql, args, false)
		return rowOf(caller, sql, rows, d.roleErr(err))
	}
	p := &pooledRow{rows: mappedRows{ctx: ctx, sql: sql, cancel: cancel, db: d, args: concreteArgs(args), autocommit: true}} // values, not pointers (args.go)
	if err := p.rows.run(); err != nil {
		cancel()
		return errRow{d.roleErr(err)}
	}
	p.first = firstRow{rows: &p.rows, ctx: caller, sql: sql}
	return &p.first
}

// pooledRow is the row of a QueryRow on a pooled connection: its rows
// and the row read off them.
type pooledRow struct {
	rows  mappedRows
	first firstRow
}

// run sends r's statement on a pooled connection, replacing a connection
// found dead before the statement left once.
func (r *mappedRows) run() error {
	r.again.plans = r.db.plans
	for {
		c, err := r.db.acquire(r.ctx)
		if err != nil {
			return pgerr.Map(r.ctx, r.sql, err)
		}
		rows, err := c.Query(r.ctx, r.sql, r.args...)
		if err != nil {
			c.Release()
			if r.again.may(r.ctx, err) {
				continue
			}
			return r.mapErr(err)
		}
		r.Rows, r.conn = rows, c
		return nil
	}
}

// rerun runs r's statement again when it ended before any row reached
// the caller with an error that says it cannot have run (see the top of
// this file), reporting whether it did: a stale plan, or a connection
// found dead as the statement was written. pgx reports the latter here,
// not from Query, for a statement prepared on the connection already.
func (r *mappedRows) rerun() bool {
	if r.db == nil || r.seen || !r.again.may(r.ctx, r.Rows.Err()) {
		return false
	}
	r.Rows.Close()
	if r.conn != nil {
		r.conn.Release()
		r.conn = nil
	}
	if err := r.run(); err != nil {
		r.Rows = errRows{err: err}
	}
	return true
}

// unwrapRows returns the pgx rows under pgkit's wrapper, for loops that read
// millions of rows and map only the final error.
func unwrapRows(r pgx.Rows) pgx.Rows {
	if m, ok := r.(*mappedRows); ok && m.db == nil {
		return m.Rows
	}
	return r
}
