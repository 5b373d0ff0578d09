package pgkit

// What a write refused by a read-only server becomes: the one place that
// types SQLSTATE 25006 for pgerr.IsWrongServerRole and drops the pool
// that reached such a server, for a *DB meant for the primary (role.go)
// and for Replicated's primary, on every path their statements take.

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// refusedAsReadOnly types err when it is a write refused by a read-only
// server (SQLSTATE 25006: the pool reached a standby, or a server with
// default_transaction_read_only): it then matches pgerr.IsWrongServerRole,
// as a connection that target_session_attrs=read-write refused does, and
// reset is called, to drop the pool's connections for ones to the current
// primary. Any other err, and one typed already, is returned as it is.
func refusedAsReadOnly(err error, reset func() bool) error {
	if err == nil || pgerr.SQLState(err) != "25006" || errors.Is(err, pgconn.ErrReadOnlyConnection) {
		return err
	}
	reset()
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

// typeFunc types a statement's error: Replicated.wrongRole, DB.roleErr.
type typeFunc func(error) error

// roleRows are the rows of a statement run on the primary, whose error is
// typed by typ.
type roleRows struct {
	pgx.Rows
	typ typeFunc
}

func (x *roleRows) Err() error { return x.typ(x.Rows.Err()) }

// roleRow is a row of a statement run on the primary, typed by typ.
type roleRow struct {
	pgx.Row
	typ typeFunc
}

func (x roleRow) Scan(dest ...any) error { return x.typ(x.Row.Scan(dest...)) }

// roleBatch is a batch's results on the primary, typed by typ.
type roleBatch struct {
	pgx.BatchResults
	typ typeFunc
}

func (b *roleBatch) Exec() (pgconn.CommandTag, error) {
	tag, err := b.BatchResults.Exec()
	return tag, b.typ(err)
}

func (b *roleBatch) Query() (pgx.Rows, error) {
	rows, err := b.BatchResults.Query()
	if err != nil {
		return rows, b.typ(err)
	}
	return &roleRows{Rows: rows, typ: b.typ}, nil
}

func (b *roleBatch) QueryRow() pgx.Row { return roleRow{Row: b.BatchResults.QueryRow(), typ: b.typ} }

func (b *roleBatch) Close() error { return b.typ(b.BatchResults.Close()) }

// roleTx is a read-write transaction on the primary whose statements'
// errors are typed by typ; Replicated.BeginTx wraps it in a *Tx.
type roleTx struct {
	pgx.Tx
	typ typeFunc
}

// Begin opens a savepoint, typed as its transaction.
func (t *roleTx) Begin(ctx context.Context) (pgx.Tx, error) {
	inner, err := t.Tx.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return &roleTx{Tx: inner, typ: t.typ}, nil
}

func (t *roleTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := t.Tx.Exec(ctx, sql, args...)
	return tag, t.typ(err)
}

func (t *roleTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	rows, err := t.Tx.Query(ctx, sql, args...)
	if err != nil {
		return rows, t.typ(err)
	}
	return &roleRows{Rows: rows, typ: t.typ}, nil
}

func (t *roleTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return roleRow{Row: t.Tx.QueryRow(ctx, sql, args...), typ: t.typ}
}

func (t *roleTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return &roleBatch{BatchResults: t.Tx.SendBatch(ctx, b), typ: t.typ}
}

func (t *roleTx) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	n, err := t.Tx.CopyFrom(ctx, table, columns, src)
	return n, t.typ(err)
}
