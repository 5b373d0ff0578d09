package db

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
)

// TxBeginner starts a transaction: *DB, *pgxpool.Pool, *pgx.Conn and pgx.Tx
// all are one. Beginning on a pgx.Tx opens a savepoint, so WithTx nests.
type TxBeginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

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
	// Default: 5; 1 disables retries.
	MaxAttempts int
	// RetryBackoff is the longest wait before the first retry; each later
	// retry may wait twice as long, up to 1s. The actual wait is random in
	// [0, that bound] (full jitter), so that the transactions that collided
	// do not collide again. Default: 10ms.
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

// WithTx runs fn in a transaction on b and commits when fn returns nil, with
// the defaults of TxOptions. See WithTxOptions.
func WithTx(ctx context.Context, b TxBeginner, fn func(q *Queries) error) error {
	return WithTxOptions(ctx, b, TxOptions{}, fn)
}

// WithTxOptions runs fn in a transaction on b and commits when fn returns nil.
// It rolls back when fn returns an error, when ctx ends, and when fn panics,
// in which case the panic continues after the rollback.
//
// When the transaction fails with a serialization failure or a deadlock, fn
// runs again in a new transaction, up to opts.MaxAttempts times with
// jittered backoff; fn must therefore have no effect outside the database
// that cannot run twice. Inside an outer transaction (b is a pgx.Tx, or the
// Queries of another WithTx) fn runs in a savepoint instead and is never
// retried: only the outermost transaction can be run again.
//
// fn's error is returned as is, so errors.Is and errors.As see it unchanged.
func WithTxOptions(ctx context.Context, b TxBeginner, opts TxOptions, fn func(q *Queries) error) error {
	if isTx(b) {
		return runTx(ctx, b, pgx.TxOptions{}, fn)
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
	for attempt := 1; ; attempt++ {
		err := runTx(ctx, b, txOpts, fn)
		if err == nil || attempt >= attempts || !IsRetryable(err) {
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

// isTx reports whether b already is a transaction, where Begin makes a
// savepoint.
func isTx(b TxBeginner) bool {
	switch b.(type) {
	case pgx.Tx, txDBTX:
		return true
	}
	return false
}

// runTx runs fn once in a transaction (or savepoint) begun on b.
func runTx(ctx context.Context, b TxBeginner, opts pgx.TxOptions, fn func(q *Queries) error) (err error) {
	var tx pgx.Tx
	switch b := b.(type) {
	case interface {
		BeginTx(context.Context, pgx.TxOptions) (pgx.Tx, error)
	}:
		tx, err = b.BeginTx(ctx, opts)
	default:
		tx, err = b.Begin(ctx)
	}
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
			panic(p)
		}
	}()
	if err := fn(New(txDBTX{tx})); err != nil {
		// The rollback must run even when ctx is already cancelled.
		if rbErr := tx.Rollback(context.WithoutCancel(ctx)); rbErr != nil && !errors.Is(rbErr, pgx.ErrTxClosed) {
			return errors.Join(err, fmt.Errorf("roll back: %w", rbErr))
		}
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Store is Querier plus transactions, for code written against an interface
// (and tested with a fake) that still needs a transaction. *Queries
// implements it; inside RunInTx, the Store passed to fn runs in the
// transaction, and calling RunInTx on it again opens a savepoint.
type Store interface {
	Querier
	RunInTx(ctx context.Context, opts TxOptions, fn func(Store) error) error
}

var _ Store = (*Queries)(nil)

// RunInTx runs fn in a transaction on the database q runs on, as
// WithTxOptions does. q must have been made by New from a *DB, a pool, a
// connection or a transaction.
func (q *Queries) RunInTx(ctx context.Context, opts TxOptions, fn func(Store) error) error {
	b, ok := q.db.(TxBeginner)
	if !ok {
		return fmt.Errorf("run in transaction: %T cannot begin a transaction", q.db)
	}
	return WithTxOptions(ctx, b, opts, func(tq *Queries) error { return fn(tq) })
}
