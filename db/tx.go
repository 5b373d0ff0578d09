package db

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// TxBeginner starts a transaction: *pgxpool.Pool, *pgx.Conn and pgx.Tx all
// are one. Beginning on a pgx.Tx opens a savepoint, so WithTx nests.
type TxBeginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// WithTx runs fn in a transaction on b and commits when fn returns nil. It
// rolls back when fn returns an error, when ctx is cancelled, and when fn
// panics, in which case the panic continues after the rollback. Called with a
// pgx.Tx as b, it runs fn in a savepoint of that transaction.
//
// fn's error is returned as is, so errors.Is and errors.As see it unchanged.
func WithTx(ctx context.Context, b TxBeginner, fn func(q *Queries) error) (err error) {
	tx, err := b.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
			panic(p)
		}
	}()
	if err := fn(New(tx)); err != nil {
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
