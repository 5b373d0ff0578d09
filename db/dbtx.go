package db

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The DBTX implementations behind DB and transactions. They are small
// wrappers, as river's drivers are, so the generated code stays untouched:
// each takes a connection (DB) or uses the transaction, and maps errors
// through mapError so that callers get the typed errors of errors.go.

var (
	_ DBTX       = (*DB)(nil)
	_ TxBeginner = (*DB)(nil)
	_ DBTX       = txDBTX{}
	_ TxBeginner = txDBTX{}
)

// Exec runs sql on a pooled connection.
func (d *DB) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	c, err := d.acquire(ctx)
	if err != nil {
		return pgconn.CommandTag{}, mapError(sql, err)
	}
	defer c.Release()
	tag, err := c.Exec(ctx, sql, args...)
	return tag, mapError(sql, err)
}

// Query runs sql on a pooled connection, given back when the rows are closed
// or read to the end.
func (d *DB) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	c, err := d.acquire(ctx)
	if err != nil {
		return nil, mapError(sql, err)
	}
	rows, err := c.Query(ctx, sql, args...)
	if err != nil {
		c.Release()
		return nil, mapError(sql, err)
	}
	return &mappedRows{Rows: rows, sql: sql, conn: c}, nil
}

// QueryRow runs sql on a pooled connection, given back by Scan.
func (d *DB) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	c, err := d.acquire(ctx)
	if err != nil {
		return errRow{mapError(sql, err)}
	}
	return &mappedRow{row: c.QueryRow(ctx, sql, args...), sql: sql, conn: c}
}

// CopyFrom bulk-loads rows with COPY on a pooled connection.
func (d *DB) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	c, err := d.acquire(ctx)
	if err != nil {
		return 0, mapError("", err)
	}
	defer c.Release()
	n, err := c.CopyFrom(ctx, table, columns, src)
	return n, mapError("", err)
}

// SendBatch sends b on a pooled connection, given back by Close.
func (d *DB) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	c, err := d.acquire(ctx)
	if err != nil {
		return errBatch{mapError("", err)}
	}
	return &mappedBatch{br: c.SendBatch(ctx, b), batch: b, conn: c}
}

// Begin starts a transaction on a pooled connection.
func (d *DB) Begin(ctx context.Context) (pgx.Tx, error) {
	return d.BeginTx(ctx, pgx.TxOptions{})
}

// BeginTx starts a transaction with options on a pooled connection, given
// back by Commit or Rollback.
func (d *DB) BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error) {
	c, err := d.acquire(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := c.BeginTx(ctx, opts)
	if err != nil {
		c.Release()
		return nil, err
	}
	return &pooledTx{Tx: tx, conn: c}, nil
}

// pooledTx gives its connection back to the pool when it ends.
type pooledTx struct {
	pgx.Tx
	conn *pgxpool.Conn
}

func (t *pooledTx) Commit(ctx context.Context) error {
	err := t.Tx.Commit(ctx)
	t.release()
	return err
}

func (t *pooledTx) Rollback(ctx context.Context) error {
	err := t.Tx.Rollback(ctx)
	t.release()
	return err
}

func (t *pooledTx) release() {
	if t.conn != nil {
		t.conn.Release()
		t.conn = nil
	}
}

// txDBTX runs the generated queries inside tx with typed errors. Begin on it
// opens a savepoint.
type txDBTX struct{ tx pgx.Tx }

func (t txDBTX) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := t.tx.Exec(ctx, sql, args...)
	return tag, mapError(sql, err)
}

func (t txDBTX) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	rows, err := t.tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, mapError(sql, err)
	}
	return &mappedRows{Rows: rows, sql: sql}, nil
}

func (t txDBTX) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return &mappedRow{row: t.tx.QueryRow(ctx, sql, args...), sql: sql}
}

func (t txDBTX) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	n, err := t.tx.CopyFrom(ctx, table, columns, src)
	return n, mapError("", err)
}

func (t txDBTX) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return &mappedBatch{br: t.tx.SendBatch(ctx, b), batch: b}
}

func (t txDBTX) Begin(ctx context.Context) (pgx.Tx, error) { return t.tx.Begin(ctx) }

// mappedRows maps the error of a result set, and gives its pooled connection
// back once the rows are done.
type mappedRows struct {
	pgx.Rows
	sql  string
	conn *pgxpool.Conn
}

func (r *mappedRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.release() // pgx closed the rows
	return false
}

func (r *mappedRows) Close() {
	r.Rows.Close()
	r.release()
}

func (r *mappedRows) Err() error { return mapError(r.sql, r.Rows.Err()) }

func (r *mappedRows) release() {
	if r.conn != nil {
		r.conn.Release()
		r.conn = nil
	}
}

// mappedRow maps the error of a single-row query and releases its connection.
type mappedRow struct {
	row  pgx.Row
	sql  string
	conn *pgxpool.Conn
}

func (r *mappedRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if r.conn != nil {
		r.conn.Release()
		r.conn = nil
	}
	return mapError(r.sql, err)
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// mappedBatch maps the error of each queued query, naming it.
type mappedBatch struct {
	br    pgx.BatchResults
	batch *pgx.Batch
	next  int
	conn  *pgxpool.Conn
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
	return tag, mapError(sql, err)
}

func (b *mappedBatch) Query() (pgx.Rows, error) {
	sql := b.sql()
	rows, err := b.br.Query()
	if err != nil {
		return rows, mapError(sql, err)
	}
	return &mappedRows{Rows: rows, sql: sql}, nil
}

func (b *mappedBatch) QueryRow() pgx.Row {
	sql := b.sql()
	return &mappedRow{row: b.br.QueryRow(), sql: sql}
}

func (b *mappedBatch) Close() error {
	err := b.br.Close()
	if b.conn != nil {
		b.conn.Release()
		b.conn = nil
	}
	return mapError("", err)
}

type errBatch struct{ err error }

func (b errBatch) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, b.err }
func (b errBatch) Query() (pgx.Rows, error)         { return nil, b.err }
func (b errBatch) QueryRow() pgx.Row                { return errRow{b.err} }
func (b errBatch) Close() error                     { return b.err }

func (b *mappedBatch) Tx() pgx.Tx { return b.br.Tx() }
func (b errBatch) Tx() pgx.Tx     { return nil }
