package pgkit

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// mappedRows maps the error of a result set, and gives its pooled
// connection back once the rows are done. Rows a DB ran on a pooled
// connection (db set) are run again when their plan was stale
// (executor.go).
type mappedRows struct {
	pgx.Rows
	ctx    context.Context
	sql    string
	conn   *pgxpool.Conn
	cancel context.CancelFunc // of Config.QueryTimeout's deadline, or nil
	db     *DB                // set when the statement may be run again (rerun)
	args   []any
	seen   bool // a row reached the caller
	again  reruns
	ended  bool  // err is the final error, mapped before cancel
	err    error // see Err
	// autocommit: the statement runs outside a transaction, so a write
	// whose answer was lost has an unknown outcome (autocommitOutcome).
	autocommit bool
	dec        decoding // Config.Decoders at work on these rows (decode.go)
}

// Next moves to the next row.
func (r *mappedRows) Next() bool {
	for {
		if r.Rows.Next() {
			r.seen = true
			return true
		}
		if !r.rerun() {
			r.done() // pgx closed the rows
			return false
		}
	}
}

func (r *mappedRows) Close() {
	r.Rows.Close()
	r.done()
}

// Err is the error that ended the rows, typed. Once the rows are done it
// is the one mapped then, before Config.QueryTimeout's context was
// cancelled: mapped later, every error would look cancelled.
func (r *mappedRows) Err() error {
	if r.ended {
		return r.err
	}
	return r.mapErr(r.Rows.Err())
}

// mapErr types the error that ended the rows.
func (r *mappedRows) mapErr(err error) error {
	err = pgerr.Map(r.ctx, r.sql, err)
	if r.autocommit {
		err = autocommitOutcome(r.ctx, r.sql, err)
	}
	return r.db.roleErr(err)
}

// Scan decodes the current row; its error names the query, as on every
// other path (a multiplexed one, QueryRow).
func (r *mappedRows) Scan(dest ...any) error {
	if decs := r.decoders(); decs != nil && r.dec.scan(decs, r.sql, r.Rows, dest) {
		return nil
	}
	if err := r.Rows.Scan(dest...); err != nil {
		return pgerr.Map(r.ctx, r.sql, err)
	}
	return nil
}

// decoders are the Config.Decoders r's rows are decoded with, or nil.
func (r *mappedRows) decoders() decoders {
	if r.dec.decs != nil {
		return r.dec.decs
	}
	if r.db != nil {
		return r.db.decoders
	}
	return nil
}

// decodeWith has rows, the mapped rows of a query on d's connection,
// decoded with d's Config.Decoders (a nil d: none).
func decodeWith(rows pgx.Rows, d *DB) {
	if m, ok := rows.(*mappedRows); ok && d != nil {
		m.dec.decs = d.decoders
	}
}

func (r *mappedRows) done() {
	if r.cancel != nil && !r.ended {
		r.err, r.ended = r.mapErr(r.Rows.Err()), true
	}
	if r.conn != nil {
		r.conn.Release()
		r.conn = nil
	}
	if r.cancel != nil {
		r.cancel()
		r.cancel = nil
	}
}

// mappedRow maps the error of a single-row query and gives its pooled
// connection back.
type mappedRow struct {
	row  pgx.Row
	ctx  context.Context
	sql  string
	conn *pgxpool.Conn
}

func (r *mappedRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if r.conn != nil {
		r.conn.Release()
		r.conn = nil
	}
	return pgerr.Map(r.ctx, r.sql, err)
}

// rowOf is QueryRow's result for a query run as Query, on any rows: the
// first row, then the rows closed (as pgx's own QueryRow does with its
// rows). err is Query's error.
func rowOf(ctx context.Context, sql string, rows pgx.Rows, err error) pgx.Row {
	if err != nil {
		return errRow{err}
	}
	return &firstRow{rows: rows, ctx: ctx, sql: sql}
}

// firstRow is rowOf's row.
type firstRow struct {
	rows pgx.Rows
	ctx  context.Context
	sql  string
}

// Scan decodes the first row into dest; pgerr.ErrNotFound when there is
// none.
func (r *firstRow) Scan(dest ...any) error {
	rows := r.rows
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return pgerr.Map(r.ctx, r.sql, err)
		}
		return pgerr.Map(r.ctx, r.sql, pgx.ErrNoRows)
	}
	if err := rows.Scan(dest...); err != nil {
		return pgerr.Map(r.ctx, r.sql, err)
	}
	rows.Close()
	return pgerr.Map(r.ctx, r.sql, rows.Err())
}

// errRows are rows whose statement could not be sent again.
type errRows struct {
	pgx.Rows // nil: only the methods below are called on rows that ended
	err      error
}

func (r errRows) Next() bool                                   { return false }
func (r errRows) Close()                                       {}
func (r errRows) Err() error                                   { return r.err }
func (r errRows) CommandTag() pgconn.CommandTag                { return pgconn.CommandTag{} }
func (r errRows) FieldDescriptions() []pgconn.FieldDescription { return nil }
func (r errRows) Values() ([]any, error)                       { return nil, r.err }
func (r errRows) RawValues() [][]byte                          { return nil }
func (r errRows) Scan(...any) error                            { return r.err }

// errRow is a row whose query could not be sent (no connection).
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// mappedBatch maps the error of each queued query, naming it, and
// decodes its rows with the Config.Decoders of the DB it was sent on.
type mappedBatch struct {
	br    pgx.BatchResults
	ctx   context.Context
	batch *pgx.Batch
	next  int
	conn  *pgxpool.Conn
	// autocommit: sent on a DB's pooled connection, outside a
	// transaction (autocommitOutcome).
	autocommit bool
	// fns are the queued queries' callbacks (pgx.QueuedQuery.Query,
	// QueryRow, Exec), taken off the batch (takeCallbacks) for Close to
	// run on these results rather than pgx on its own; nil for none.
	fns  []func(pgx.BatchResults) error
	decs decoders
}

// takeCallbacks returns the callbacks of b's queued queries, by index,
// and clears them from b, or nil when no query has one. pgx would run
// them on its own results when the batch is closed, unmapped and
// undecoded, and would go on running the later ones after one returned
// an error; mappedBatch.Close runs them instead. pgx sends a Batch once,
// so nothing else reads the callbacks after.
func takeCallbacks(b *pgx.Batch) []func(pgx.BatchResults) error {
	if b == nil {
		return nil
	}
	var fns []func(pgx.BatchResults) error
	for i, qq := range b.QueuedQueries {
		if qq.Fn == nil {
			continue
		}
		if fns == nil {
			fns = make([]func(pgx.BatchResults) error, len(b.QueuedQueries))
		}
		fns[i], qq.Fn = qq.Fn, nil
	}
	return fns
}

// mapErr types the error of the batch's statement sql.
func (b *mappedBatch) mapErr(sql string, err error) error {
	err = pgerr.Map(b.ctx, sql, err)
	if b.autocommit {
		return autocommitOutcome(b.ctx, sql, err)
	}
	return err
}

func (b *mappedBatch) sql() string {
	i := b.next
	b.next++
	if i < len(b.batch.QueuedQueries) {
		return b.batch.QueuedQueries[i].SQL
	}
	return ""
}

func (b *mappedBatch) Exec() (pgconn.CommandTag, error) {
	sql := b.sql()
	tag, err := b.br.Exec()
	return tag, b.mapErr(sql, err)
}

// Query is the next query's rows. Rows come even with an error (as
// pgx's do), their Err the same error typed.
func (b *mappedBatch) Query() (pgx.Rows, error) { return b.query(b.sql()) }

// query is the rows of the next query, whose statement is sql.
func (b *mappedBatch) query(sql string) (pgx.Rows, error) {
	rows, err := b.br.Query()
	if rows != nil {
		rows = &mappedRows{Rows: rows, ctx: b.ctx, sql: sql, autocommit: b.autocommit, dec: decoding{decs: b.decs}}
	}
	if err != nil {
		return rows, b.mapErr(sql, err)
	}
	return rows, nil
}

// QueryRow is the next query's first row, read through Query (so it is
// decoded as its rows are); pgerr.ErrNotFound when it has none.
func (b *mappedBatch) QueryRow() pgx.Row {
	sql := b.sql()
	rows, err := b.query(sql)
	return rowOf(b.ctx, sql, rows, err)
}

// Close runs the callbacks of the queries not read yet, in order, on
// these results, until one returns an error, then reads the rest of the
// batch and gives its connection back. Its error is the first callback's,
// else the batch's.
func (b *mappedBatch) Close() error {
	var first error
	for first == nil && b.next < len(b.fns) {
		if fn := b.fns[b.next]; fn != nil {
			first = fn(b)
		} else {
			_, first = b.Exec()
		}
	}
	b.fns = nil
	err := b.br.Close()
	if b.conn != nil {
		b.conn.Release()
		b.conn = nil
	}
	if first != nil {
		return first
	}
	return b.mapErr("", err)
}

func (b *mappedBatch) Tx() pgx.Tx { return b.br.Tx() }

// errBatch is a batch that could not be sent (no connection).
type errBatch struct{ err error }

// batchSQL is the statement an error of the whole batch b is named
// after: its first query's (a generated batch queues one statement many
// times), or "" for an empty batch.
func batchSQL(b *pgx.Batch) string {
	if b == nil || len(b.QueuedQueries) == 0 {
		return ""
	}
	return b.QueuedQueries[0].SQL
}

func (b errBatch) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, b.err }
func (b errBatch) Query() (pgx.Rows, error)         { return nil, b.err }
func (b errBatch) QueryRow() pgx.Row                { return errRow{b.err} }
func (b errBatch) Close() error                     { return b.err }
func (b errBatch) Tx() pgx.Tx                       { return nil }
