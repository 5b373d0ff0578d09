package pgkit

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// wrongRole types err when it is a write refused by a read-only server
// (SQLSTATE 25006: the primary DSN reached a standby, or a server with
// default_transaction_read_only): it then matches pgerr.IsWrongServerRole,
// as a connection that target_session_attrs=read-write refused does, and
// the primary's pool is dropped for connections to the current primary.
// Any other err is returned as it is.
func (r *Replicated) wrongRole(err error) error {
	if err == nil || pgerr.SQLState(err) != "25006" || errors.Is(err, pgconn.ErrReadOnlyConnection) {
		return err
	}
	r.resetPrimary()
	var qe *pgerr.QueryError
	if errors.As(err, &qe) && error(qe) == err {
		typed := *qe
		typed.Err = &wrongRoleError{err: qe.Err}
		return &typed
	}
	return &wrongRoleError{err: err}
}

// wrongRoleError is a write that a read-only server refused.
type wrongRoleError struct{ err error }

func (e *wrongRoleError) Error() string {
	return "the server is read-only (a standby?): " + e.err.Error()
}

// Unwrap gives the server's error and pgconn.ErrReadOnlyConnection, which
// pgerr.IsWrongServerRole matches.
func (e *wrongRoleError) Unwrap() []error { return []error{e.err, pgconn.ErrReadOnlyConnection} }

// roleRows are the rows of a statement run on the primary, whose error is
// typed by wrongRole.
type roleRows struct {
	pgx.Rows
	r *Replicated
}

func (x *roleRows) Err() error { return x.r.wrongRole(x.Rows.Err()) }

// roleRow is a row of a statement run on the primary, typed by wrongRole.
type roleRow struct {
	pgx.Row
	r *Replicated
}

func (x roleRow) Scan(dest ...any) error { return x.r.wrongRole(x.Row.Scan(dest...)) }

// roleBatch is a batch's results on the primary, typed by wrongRole.
type roleBatch struct {
	pgx.BatchResults
	r *Replicated
}

func (b *roleBatch) Exec() (pgconn.CommandTag, error) {
	tag, err := b.BatchResults.Exec()
	return tag, b.r.wrongRole(err)
}

func (b *roleBatch) Query() (pgx.Rows, error) {
	rows, err := b.BatchResults.Query()
	if err != nil {
		return rows, b.r.wrongRole(err)
	}
	return &roleRows{Rows: rows, r: b.r}, nil
}

func (b *roleBatch) QueryRow() pgx.Row { return roleRow{Row: b.BatchResults.QueryRow(), r: b.r} }

func (b *roleBatch) Close() error { return b.r.wrongRole(b.BatchResults.Close()) }

// roleTx is a read-write transaction on the primary whose statements'
// errors are typed by wrongRole; Replicated.BeginTx wraps it in a *Tx.
type roleTx struct {
	pgx.Tx
	r *Replicated
}

// Begin opens a savepoint, typed as its transaction.
func (t *roleTx) Begin(ctx context.Context) (pgx.Tx, error) {
	inner, err := t.Tx.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return &roleTx{Tx: inner, r: t.r}, nil
}

func (t *roleTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := t.Tx.Exec(ctx, sql, args...)
	return tag, t.r.wrongRole(err)
}

func (t *roleTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	rows, err := t.Tx.Query(ctx, sql, args...)
	if err != nil {
		return rows, t.r.wrongRole(err)
	}
	return &roleRows{Rows: rows, r: t.r}, nil
}

func (t *roleTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return roleRow{Row: t.Tx.QueryRow(ctx, sql, args...), r: t.r}
}

func (t *roleTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return &roleBatch{BatchResults: t.Tx.SendBatch(ctx, b), r: t.r}
}

func (t *roleTx) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	n, err := t.Tx.CopyFrom(ctx, table, columns, src)
	return n, t.r.wrongRole(err)
}
