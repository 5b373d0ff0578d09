package pgkit

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// Tx is a transaction (or savepoint) whose methods return pgerr's typed
// errors. It is a pgx.Tx, so the generated New and Queries.WithTx take it
// and keep the typed errors; it is a Source, so WithTx on it opens a
// savepoint and Gather and Pipeline run inside it. Begin it with *DB's
// Begin, WithTx, or Wrap a pgx.Tx of your own. Like any pgx.Tx, it is not
// safe for concurrent use: Pipeline is the way to run concurrent functions
// inside it.
//
// A transaction begun on a *DB (or a *Replicated) bounds each of its
// statements whose context has no deadline by the DB's Config.QueryTimeout,
// as the DB does its own: Exec, Query and QueryRow with their rows,
// CopyFrom, SendBatch, Prepare, savepoints, Commit and Rollback. One that
// Wrap made of a pgx.Tx of your own has no timeout.
type Tx struct {
	typed
	tx      pgx.Tx
	timeout time.Duration // Config.QueryTimeout of the DB it was begun on
	// Of a transaction begun on a DB: the pooled connection it holds,
	// given back when it ends, and the DB, which resolves a COMMIT whose
	// answer was lost (commit.go).
	conn    *pgxpool.Conn
	db      *DB
	resolve time.Duration // Config.CommitResolveTimeout
	ended   bool          // committed or rolled back through conn
	// top: not a savepoint. A lost answer to its COMMIT leaves its
	// outcome unknown.
	top bool
}

func newTx(tx pgx.Tx) *Tx { return &Tx{typed: typed{tx}, tx: tx} }

// over is t with its statements run through x (which wraps t's own
// pgx.Tx), keeping what t knows of its connection and DB.
func (t *Tx) over(x pgx.Tx) *Tx {
	c := *t
	c.typed, c.tx = typed{x}, x
	return &c
}

// newTxWithTimeout is newTx for a transaction begun on a DB whose
// statements are bounded by timeout (Config.QueryTimeout).
func newTxWithTimeout(tx pgx.Tx, timeout time.Duration) *Tx {
	t := newTx(tx)
	t.timeout = timeout
	return t
}

// bound applies the transaction's timeout to a ctx without a deadline.
func (t *Tx) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return withQueryTimeout(ctx, t.timeout)
}

// Exec runs sql in the transaction.
func (t *Tx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	ctx, cancel := t.bound(ctx)
	defer cancel()
	return t.typed.Exec(ctx, sql, args...)
}

// Query runs sql in the transaction and returns its rows; the timeout, if
// any, runs until they are closed or read to the end.
func (t *Tx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	ctx, cancel := t.bound(ctx)
	rows, err := queryOn(ctx, t.x, sql, args, cancel)
	decodeWith(rows, t.db)
	return rows, err
}

// QueryRow runs sql in the transaction and returns its row.
func (t *Tx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if t.timeout <= 0 && (t.db == nil || t.db.decoders == nil) {
		return t.typed.QueryRow(ctx, sql, args...)
	}
	rows, err := t.Query(ctx, sql, args...)
	return rowOf(ctx, sql, rows, err)
}

// CopyFrom bulk-loads rows with COPY in the transaction, through pgx's
// CopyFrom: pgx.Tx refuses a COPY once it has ended, which pgkit's own
// encoder (DB.CopyFrom's) could not see on every Tx.
func (t *Tx) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	ctx, cancel := t.bound(ctx)
	defer cancel()
	return t.typed.CopyFrom(ctx, table, columns, src)
}

// SendBatch sends b in the transaction; the timeout, if any, runs until
// the results are closed.
func (t *Tx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	ctx, cancel := t.bound(ctx)
	var decs decoders
	if t.db != nil {
		decs = t.db.decoders
	}
	return &boundBatch{BatchResults: batchOn(ctx, t.x, b, nil, decs), cancel: cancel}
}

// boundBatch ends a batch's timeout when the batch is closed.
type boundBatch struct {
	pgx.BatchResults
	cancel context.CancelFunc
}

func (b *boundBatch) Close() error {
	defer b.cancel()
	return b.BatchResults.Close()
}

// Begin opens a savepoint, bounded by the transaction's timeout as the
// transaction is.
func (t *Tx) Begin(ctx context.Context) (pgx.Tx, error) {
	bctx, cancel := t.bound(ctx)
	defer cancel()
	inner, err := t.tx.Begin(bctx)
	if err != nil {
		return nil, pgerr.Map(bctx, "", err)
	}
	return newTxWithTimeout(inner, t.timeout), nil
}

// Commit commits the transaction, or releases the savepoint.
//
// When the COMMIT reached the server and its answer was lost with the
// connection, the outcome is looked up for a transaction begun on a DB
// (see Config.CommitResolveTimeout): Commit then returns nil when it
// committed, an error matching pgerr.ErrConnectionLost (and saying "not
// committed") when it did not, and one matching pgerr.ErrCommitUnknown
// when that cannot be told, which is what a transaction that Wrap made of
// a pgx.Tx of your own always gets then.
func (t *Tx) Commit(ctx context.Context) error {
	if t.ended {
		return pgx.ErrTxClosed
	}
	bctx, cancel := t.bound(ctx)
	defer cancel()
	if t.conn == nil {
		err := pgerr.Map(bctx, "", t.tx.Commit(bctx))
		if t.top && isLost(err) && !pgconn.SafeToRetry(err) {
			return &pgerr.CommitUnknownError{Reason: "the transaction was not begun on a pgkit DB, which could look its outcome up", Err: err}
		}
		return err
	}
	if t.conn.Conn().PgConn().TxStatus() == 'E' {
		// A statement failed and the transaction with it: COMMIT only
		// rolls it back (pgx.ErrTxCommitRollback).
		err := t.tx.Commit(bctx)
		t.release()
		return pgerr.Map(bctx, "", err)
	}
	// Not gently (Gather, Pipeline): a cancel request ends a COMMIT's wait
	// for the standbys with a success; closing the connection leaves it
	// to be looked up.
	id, lost, err := commitWithID(context.WithValue(bctx, gentleKey{}, nil), t.conn.Conn())
	if err == nil {
		t.release()
		return nil
	}
	mapped := pgerr.Map(bctx, "", err)
	if !lost {
		if t.conn.Conn().PgConn().TxStatus() != 'I' {
			rbCtx, rbCancel := rollbackContext(ctx)
			_ = t.tx.Rollback(rbCtx)
			rbCancel()
		}
		t.release()
		if pgconn.SafeToRetry(err) || pgerr.IsTransient(err) {
			// Nothing was sent, or the server ended the session before
			// the COMMIT: the transaction ends with its connection.
			return &notCommittedError{err: mapped}
		}
		return mapped
	}
	t.release()
	return resolveCommit(ctx, t.db, id, t.resolve, mapped)
}

// discard closes the connection of a transaction begun on a DB instead
// of giving it back (which ends the transaction on the server as surely
// as a rollback), and reports whether it did.
func (t *Tx) discard(ctx context.Context) bool {
	if t.conn == nil || t.ended {
		return false
	}
	closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	_ = t.conn.Conn().Close(closeCtx)
	cancel()
	t.release()
	return true
}

// release gives the connection of a transaction begun on a DB back to
// the pool, which closes it unless the transaction ended on it.
func (t *Tx) release() {
	t.ended = true
	t.conn.Release()
}

// Rollback rolls the transaction (or savepoint) back; after Commit it does
// nothing and returns pgx.ErrTxClosed, so it can always be deferred.
func (t *Tx) Rollback(ctx context.Context) error {
	if t.ended {
		return pgx.ErrTxClosed
	}
	ctx, cancel := t.bound(ctx)
	defer cancel()
	err := t.tx.Rollback(ctx)
	if t.conn != nil {
		t.release()
	}
	if errors.Is(err, pgx.ErrTxClosed) {
		return err
	}
	return pgerr.Map(ctx, "", err)
}

// LargeObjects gives access to large objects in the transaction.
func (t *Tx) LargeObjects() pgx.LargeObjects { return t.tx.LargeObjects() }

// Prepare creates a prepared statement on the transaction's connection.
func (t *Tx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	ctx, cancel := t.bound(ctx)
	defer cancel()
	sd, err := t.tx.Prepare(ctx, name, sql)
	return sd, pgerr.Map(ctx, sql, err)
}

// Conn is the connection the transaction runs on.
func (t *Tx) Conn() *pgx.Conn { return t.tx.Conn() }

// RunInTx runs fn in a savepoint; the generated Store's RunInTx calls it.
func (t *Tx) RunInTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return runInTx(ctx, t, fn)
}
