package pgkit

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"time"

	"github.com/jackc/pgx/v5"

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
	// FailoverWait bounds how long the function keeps being run again
	// after its transaction was lost with its connection before it
	// committed (a server restart or a failover: pgerr.IsTransient), or
	// refused by a server that turned read-only (SQLSTATE 25006,
	// pgerr.IsWrongServerRole: a primary being demoted; not for a
	// ReadOnly transaction), the server unreachable meanwhile: each new
	// attempt waits a jittered 25ms doubling to 500ms, so that the callers of a pool do not all
	// reconnect at once. A transaction whose COMMIT's answer was lost is
	// run again only once it is known not to have committed (see
	// Config.CommitResolveTimeout); one whose outcome stays unknown
	// returns pgerr.ErrCommitUnknown. These attempts are not counted in
	// MaxAttempts, but MaxAttempts 1 turns them off too; on a single
	// connection (no pool to reconnect from) there are none. Set it to
	// cover the time your cluster takes to fail over: seconds for a
	// planned failover, the failure detection's timeouts for a lost
	// primary. Default: 5s; a negative value is an error.
	FailoverWait time.Duration
	// OnRetry, when set, is called before each retry with the attempt that
	// failed (1-based) and its error: for metrics and logs.
	OnRetry func(attempt int, err error)
}

// Defaults of TxOptions.
const (
	DefaultTxMaxAttempts  = 5
	DefaultTxRetryBackoff = 10 * time.Millisecond
	DefaultTxFailoverWait = 5 * time.Second
	maxTxRetryBackoff     = time.Second
	// The waits between attempts after a lost connection.
	minReconnectBackoff = 25 * time.Millisecond
	maxReconnectBackoff = 500 * time.Millisecond
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
// A transaction lost with its connection before it committed (a restart,
// a failover) runs again too, within opts.FailoverWait.
//
// Exactly once, across failovers: on a *DB (or a *Replicated), a
// transaction whose COMMIT reached the server and whose answer was lost
// is looked up on the primary (Config.CommitResolveTimeout). Committed:
// WithTx returns nil and fn does not run again. Not committed: fn runs
// again as above. Not known (a failover to a server on another timeline
// happened first, or no primary answered in time): the error matches
// pgerr.ErrCommitUnknown and carries the transaction's id; fn does not
// run again. So WithTx never runs again a transaction that committed, and
// never reports failed one that did. Across a failover this holds only
// with synchronous replication (synchronous_commit on, a synchronous
// standby): with asynchronous replication a commit acknowledged by the
// old primary can be missing on the new one, which no client can undo.
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
	case opts.FailoverWait < 0:
		return fmt.Errorf("pgkit: TxOptions.FailoverWait is %s: want 0 (the default, %s) or more; fn was not run", opts.FailoverWait, DefaultTxFailoverWait)
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
	failoverWait := opts.FailoverWait
	if failoverWait == 0 {
		failoverWait = DefaultTxFailoverWait
	}
	var (
		stale      = 0
		lostSince  time.Time // the first of a run of lost connections
		lostErr    error     // the last of them
		reconnects = 0
	)
	for attempt := 1; ; attempt++ {
		err := runTx(ctx, src, txOpts, fn)
		if err != nil && ctx.Err() != nil && lostErr != nil && !errors.Is(err, lostErr) {
			// The caller's deadline cut the waiting short: say what was
			// waited for, too.
			err = errors.Join(err, fmt.Errorf("after a failed attempt: %w", lostErr))
		}
		if pgerr.IsStalePlan(err) && stale < maxStaleReruns && ctx.Err() == nil {
			// Its statement did not run, and the connection has forgotten
			// the stale plan: again at once, not counted as an attempt
			// (each pooled connection may hold a stale copy once).
			stale++
			attempt--
			continue
		}
		if err != nil && attempts > 1 && ctx.Err() == nil && canReconnect(src) && (lostUncommitted(err) || !opts.ReadOnly && refusedReadOnly(err)) {
			// Lost with its connection before it committed: again once
			// the server is back, within FailoverWait.
			if lostSince.IsZero() {
				lostSince = time.Now()
			}
			wait := min(minReconnectBackoff<<min(reconnects, 5), maxReconnectBackoff)
			wait = wait/2 + rand.N(wait/2+1)
			if time.Since(lostSince)+wait <= failoverWait {
				reconnects++
				lostErr = err
				if opts.OnRetry != nil {
					opts.OnRetry(attempt, err)
				}
				attempt--
				select {
				case <-ctx.Done():
					return errors.Join(err, ctx.Err())
				case <-time.After(wait):
				}
				continue
			}
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

// canReconnect reports whether src can give a new connection to a new
// attempt: a pool can, a single connection cannot.
func canReconnect(src Source) bool {
	_, conn := rawOf(src).(*pgx.Conn)
	return !conn
}

// refusedReadOnly reports a write the server refused for being read-only
// (SQLSTATE 25006: a standby, or a primary being demoted, as during a
// failover), or a connection refused for its role: the transaction did
// not commit, and on a new connection may reach the new primary.
func refusedReadOnly(err error) bool {
	return pgerr.SQLState(err) == "25006" || pgerr.IsWrongServerRole(err)
}

// lostUncommitted reports a transaction that failed because its
// connection broke (or could not be made) and that did not commit: every
// such error of runTx but a COMMIT whose outcome is unknown.
func lostUncommitted(err error) bool {
	return pgerr.IsTransient(err) && !pgerr.IsCommitUnknown(err)
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
	returned := false
	defer func() {
		if returned {
			return
		}
		// fn panicked, or ended its goroutine (runtime.Goexit: t.FailNow
		// in a test), which recover does not stop: either way the
		// transaction is rolled back and its connection given back.
		p := recover()
		rbCtx, cancel := rollbackContext(ctx)
		_ = tx.Rollback(rbCtx)
		cancel()
		if p != nil {
			panic(p) // fn's own panic, carried on after the rollback
		}
	}()
	fnErr := fn(tx)
	returned = true
	if err := fnErr; err != nil {
		if refusedReadOnly(err) && opts.AccessMode != pgx.ReadOnly && tx.discard(ctx) {
			// Its server (or session) is read-only: a primary being
			// demoted. A new connection may reach the new primary.
			return err
		}
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
	_, nested := rawOf(src).(pgx.Tx)
	t, ok := tx.(*Tx)
	if !ok {
		t = newTx(tx)
	}
	t.top = t.top || !nested
	return t, nil
}
