package pgkit_test

import (
	"context"
	"errors"
	"testing"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/internal/kittest"
)

// TestCancelledSavepointRollsBack: a context that ends while fn runs in a
// savepoint rolls the savepoint back, so the outer transaction, committed
// afterwards, keeps none of fn's writes (pgx's Commit on the dead context
// used to mark the savepoint released without sending RELEASE or
// ROLLBACK TO, so its writes were committed with the outer transaction
// while WithTx reported a failure).
func TestCancelledSavepointRollsBack(t *testing.T) {
	ctx, d, q := setup(t)
	var innerErr error
	err := pgkit.WithTx(ctx, d, kitdb.New, func(q *kitdb.Queries) error {
		ictx, cancel := context.WithCancel(ctx)
		innerErr = pgkit.WithTx(ictx, q.DB(), kitdb.New, func(q *kitdb.Queries) error {
			_, err := q.AccountCreate(ictx, kitdb.AccountCreateParams{Name: "Inner", Team: "Cancelled"})
			cancel()
			return err
		})
		_, err := q.AccountCreate(ctx, kitdb.AccountCreateParams{Name: "Outer", Team: "Kept"})
		return err
	})
	if err != nil {
		t.Fatalf("outer WithTx: %v", err)
	}
	if !errors.Is(innerErr, context.Canceled) {
		t.Fatalf("inner WithTx: %v, want context.Canceled", innerErr)
	}
	rows := kittest.Must(q.AccountList(ctx, kitdb.AccountListParams{Max: 10}))(t)
	if len(rows) != 1 || rows[0].Name != "Outer" {
		t.Fatalf("after the outer commit: %+v, want only the outer transaction's account", rows)
	}
}

// TestCancelledTxKeepsConnection: on a *pgx.Conn of the caller's, a
// context that ends while fn runs rolls back and leaves the connection
// usable (a commit tried on the dead context closed it).
func TestCancelledTxKeepsConnection(t *testing.T) {
	ctx, d, q := setup(t)
	conn := kittest.Must(d.Pool().Acquire(ctx))(t)
	defer conn.Release()
	fctx, cancel := context.WithCancel(ctx)
	err := pgkit.WithTx(fctx, conn.Conn(), kitdb.New, func(q *kitdb.Queries) error {
		_, err := q.AccountCreate(fctx, kitdb.AccountCreateParams{Name: "Gone", Team: "Cancelled"})
		cancel()
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("WithTx: %v, want context.Canceled", err)
	}
	if _, err := conn.Exec(ctx, "SELECT 1"); err != nil {
		t.Fatalf("the connection after the cancelled transaction: %v", err)
	}
	if rows := kittest.Must(q.AccountList(ctx, kitdb.AccountListParams{Max: 10}))(t); len(rows) != 0 {
		t.Fatalf("a cancelled transaction committed %+v", rows)
	}
}
