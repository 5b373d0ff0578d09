package pgkit

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// TxOptions tunes WithTxOptions. The zero value runs at the server's default
// isolation (read committed), read-write, with retries on.
type TxOptions struct {
	// IsoLevel is pgx.ReadCommitted, pgx.RepeatableRead or pgx.Serializable.
	// Default: the server's default_transaction_isolation.
	IsoLevel pgx.TxIsoLevel
	// ReadOnly refuses writes.
	ReadOnly bool
	// Deferrable, with Serializable and ReadOnly, waits for a snapshot that
	// cannot fail with a serialization error.
	Deferrable bool
	// MaxAttempts bounds how many times the whole function runs when it fails
	// with a serialization failure (40001) or a deadlock (40P01).
	// Default: 5; 1 disables retries; a negative value is an error.
	MaxAttempts int
	// RetryBackoff is the longest wait before the first retry; each later
	// retry may wait twice as long, up to 1s. The actual wait is random in
	// [0, that bound] (full jitter), so that the transactions that collided
	// do not collide again. Default: 10ms; a negative value is an error.
	RetryBackoff time.Duration
	// OnRetry, when set, is called before each retry with the attempt that
	// failed (1-based) and its error: for metrics and logs.
	OnRetry func(attempt int, err error)
}

// Defaults of TxOptions.
const (
	DefaultTxMaxAttempts  = 5
	DefaultTxRetryBackoff = 10 * time.Millisecond
	maxTxRetryBackoff     = time.Second
)

// WithTx runs fn in a transaction on src and commits when fn returns nil,
// with the defaults of TxOptions. newQ is the generated package's New, so
// fn gets that package's typed Queries running in the transaction:
//
//	err := pgkit.WithTx(ctx, pool, db.New, func(q *db.Queries) error { … })
//
// See WithTxOptions.
func WithTx[D DBTX, Q any](ctx context.Context, src DBTX, newQ func(D) Q, fn func(Q) error) error {
	return WithTxOptions(ctx, src, newQ, TxOptions{}, fn)
}

// WithTxOptions runs fn in a transaction on src and commits when fn returns
// nil. It rolls back when fn returns an error, when ctx ends, and when fn
// panics, in which case the panic continues after the rollback.
//
// src may be a pool (*DB, *pgxpool.Pool), a connection, or a transaction:
// a *Tx, a pgx.Tx the caller began, the tx given to RunInTx, or the DB() of
// generated Queries, typed as the generated package's DBTX. In a
// transaction fn runs in a savepoint and is never retried: only the
// outermost transaction can be run again. Otherwise, when the transaction
// fails with a serialization failure or a deadlock, fn runs again in a new
// transaction, up to opts.MaxAttempts times with jittered backoff; fn must
// therefore have no effect outside the database that cannot run twice.
//
// Every query of fn's Queries has pgerr's typed errors, whatever src is.
// fn's error is returned as is, so errors.Is and errors.As see it unchanged.
func WithTxOptions[D DBTX, Q any](ctx context.Context, src DBTX, newQ func(D) Q, opts TxOptions, fn func(Q) error) error {
	return withTx(ctx, sourceOf(src), opts, func(tx *Tx) error {
		q, err := bind(newQ, tx)
		if err != nil {
			return err
		}
		return fn(q)
	})
}

// bind makes the generated Queries for x. The generated New takes the
// generated package's own DBTX interface, which every pgkit DBTX
// implements; the type assertion fails only for a constructor taking a
// concrete type, and then says so.
func bind[D DBTX, Q any](newQ func(D) Q, x DBTX) (Q, error) {
	d, ok := any(x).(D)
	if !ok {
		var zero Q
		return zero, fmt.Errorf("pgkit: the constructor takes %v, which %T does not implement; pass the generated New (func(DBTX) *Queries)", reflect.TypeFor[D](), x)
	}
	return newQ(d), nil
}

// sourceOf returns src as a Source: as it is when it has every method
// (pgkit's own, pgx's pools, connections and transactions), else wrapped,
// so that what it lacks fails with an error saying so.
func sourceOf(src DBTX) Source {
	if s, ok := src.(Source); ok {
		return s
	}
	return Wrap(src)
}

// withTx runs fn in a transaction or savepoint on src, retrying the
// outermost one as opts say.
func withTx(ctx context.Context, src Source, opts TxOptions, fn func(*Tx) error) error {
	switch {
	case opts.MaxAttempts < 0:
		return fmt.Errorf("pgkit: TxOptions.MaxAttempts is %d: want 0 (the default, %d) or more; fn was not run", opts.MaxAttempts, DefaultTxMaxAttempts)
	case opts.RetryBackoff < 0:
		return fmt.Errorf("pgkit: TxOptions.RetryBackoff is %s: want 0 (the default, %s) or more; fn was not run", opts.RetryBackoff, DefaultTxRetryBackoff)
	}
	if _, isTx := rawOf(src).(pgx.Tx); isTx {
		return runTx(ctx, src, pgx.TxOptions{}, fn)
	}
	attempts := opts.MaxAttempts
	if attempts <= 0 {
		attempts = DefaultTxMaxAttempts
	}
	backoff := opts.RetryBackoff
	if backoff <= 0 {
		backoff = DefaultTxRetryBackoff
	}
	txOpts := pgx.TxOptions{IsoLevel: opts.IsoLevel}
	if opts.ReadOnly {
		txOpts.AccessMode = pgx.ReadOnly
	}
	if opts.Deferrable {
		txOpts.DeferrableMode = pgx.Deferrable
	}
	stale := 0
	for attempt := 1; ; attempt++ {
		err := runTx(ctx, src, txOpts, fn)
		if pgerr.IsStalePlan(err) && stale < maxStaleReruns && ctx.Err() == nil {
			// Its statement did not run, and the connection has forgotten
			// the stale plan: again at once, not counted as an attempt
			// (each pooled connection may hold a stale copy once).
			stale++
			attempt--
			continue
		}
		if err == nil || attempt >= attempts || !pgerr.IsRetryable(err) {
			return err
		}
		if opts.OnRetry != nil {
			opts.OnRetry(attempt, err)
		}
		bound := min(backoff<<(attempt-1), maxTxRetryBackoff)
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(rand.N(bound) + 1):
		}
	}
}

// runInTx is the RunInTx of pgkit's Sources, which the generated Store's
// RunInTx calls with the generated New applied inside fn.
func runInTx(ctx context.Context, src Source, fn func(pgx.Tx) error) error {
	return withTx(ctx, src, TxOptions{}, func(tx *Tx) error { return fn(tx) })
}

// runTx runs fn once in a transaction (or savepoint) begun on src.
func runTx(ctx context.Context, src Source, opts pgx.TxOptions, fn func(*Tx) error) (err error) {
	tx, err := begin(ctx, src, opts)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			rbCtx, cancel := rollbackContext(ctx)
			_ = tx.Rollback(rbCtx)
			cancel()
			panic(p) // fn's own panic, carried on after the rollback
		}
	}()
	if err := fn(tx); err != nil {
		// The rollback must run even when ctx is already cancelled. When the
		// connection is gone, so is the transaction: nothing to report.
		rbCtx, cancel := rollbackContext(ctx)
		defer cancel()
		if rbErr := tx.Rollback(rbCtx); rbErr != nil && !errors.Is(rbErr, pgx.ErrTxClosed) && !tx.Conn().IsClosed() {
			return errors.Join(err, fmt.Errorf("roll back: %w", rbErr))
		}
		return err
	}
	if err := ctx.Err(); err != nil {
		// ctx ended while fn ran: roll back rather than try a commit that
		// cannot be sent. (pgx would mark a savepoint released that the
		// server still holds, so its writes would stay in the outer
		// transaction, and would close a connection it failed to commit on.)
		rbCtx, cancel := rollbackContext(ctx)
		defer cancel()
		_ = tx.Rollback(rbCtx)
		return fmt.Errorf("transaction rolled back: %w", err)
	}
	commitCtx := ctx
	if _, nested := rawOf(src).(pgx.Tx); nested {
		// A savepoint's RELEASE goes out whatever happens to ctx from here,
		// so that its outcome is the one reported.
		commitCtx = context.WithoutCancel(ctx)
	}
	if err := tx.Commit(commitCtx); err != nil {
		rbCtx, cancel := rollbackContext(ctx)
		defer cancel()
		_ = tx.Rollback(rbCtx)
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// rollbackTimeout bounds a rollback sent after fn failed or ctx ended: on
// a server that does not answer, pgx then closes the connection, which
// ends the transaction on the server as surely, and the caller is not
// held beyond its deadline by more than this.
const rollbackTimeout = 1500 * time.Millisecond

// rollbackContext is ctx without its cancellation (the rollback must go
// out even when ctx has ended), bounded by rollbackTimeout.
func rollbackContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
}

// begin starts a transaction with opts on src, or a savepoint when src is a
// transaction, and returns it as a *Tx.
func begin(ctx context.Context, src Source, opts pgx.TxOptions) (*Tx, error) {
	var (
		tx  pgx.Tx
		err error
	)
	if b, ok := src.(interface {
		BeginTx(context.Context, pgx.TxOptions) (pgx.Tx, error)
	}); ok {
		tx, err = b.BeginTx(ctx, opts)
	} else {
		tx, err = src.Begin(ctx)
	}
	if err != nil {
		return nil, pgerr.Map(ctx, "", err)
	}
	if t, ok := tx.(*Tx); ok {
		return t, nil
	}
	return newTx(tx), nil
}

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
}

func newTx(tx pgx.Tx) *Tx { return &Tx{typed: typed{tx}, tx: tx} }

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
	return queryOn(ctx, t.x, sql, args, cancel)
}

// QueryRow runs sql in the transaction and returns its row.
func (t *Tx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if t.timeout <= 0 {
		return t.typed.QueryRow(ctx, sql, args...)
	}
	rows, err := t.Query(ctx, sql, args...)
	return rowOf(ctx, sql, rows, err)
}

// CopyFrom bulk-loads rows with COPY in the transaction.
func (t *Tx) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	ctx, cancel := t.bound(ctx)
	defer cancel()
	return t.typed.CopyFrom(ctx, table, columns, src)
}

// SendBatch sends b in the transaction; the timeout, if any, runs until
// the results are closed.
func (t *Tx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	ctx, cancel := t.bound(ctx)
	return &boundBatch{BatchResults: t.typed.SendBatch(ctx, b), cancel: cancel}
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
func (t *Tx) Commit(ctx context.Context) error {
	ctx, cancel := t.bound(ctx)
	defer cancel()
	return pgerr.Map(ctx, "", t.tx.Commit(ctx))
}

// Rollback rolls the transaction (or savepoint) back; after Commit it does
// nothing and returns pgx.ErrTxClosed, so it can always be deferred.
func (t *Tx) Rollback(ctx context.Context) error {
	ctx, cancel := t.bound(ctx)
	defer cancel()
	err := t.tx.Rollback(ctx)
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
