package db_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/db"
)

// userCount counts users with the given last name.
func userCount(t *testing.T, ctx context.Context, q *db.Queries, lastName string) int {
	t.Helper()
	users := must(q.UserList(ctx, db.UserListParams{NamePrefix: lastName, Max: 100}))(t)
	return len(users)
}

func TestWithTxCommits(t *testing.T) {
	ctx, pool, q := setup(t)
	err := db.WithTx(ctx, pool, func(q *db.Queries) error {
		_, err := q.UserCreate(ctx, db.UserCreateParams{FirstName: "T", LastName: "Committed"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := userCount(t, ctx, q, "Committed"); n != 1 {
		t.Fatalf("%d committed users, want 1", n)
	}
}

func TestWithTxRollsBackOnError(t *testing.T) {
	ctx, pool, q := setup(t)
	sentinel := errors.New("out of stock")
	err := db.WithTx(ctx, pool, func(q *db.Queries) error {
		if _, err := q.UserCreate(ctx, db.UserCreateParams{FirstName: "T", LastName: "Gone"}); err != nil {
			return err
		}
		return sentinel
	})
	if !errors.Is(err, sentinel) {
		t.Fatalf("WithTx error = %v, want fn's error", err)
	}
	if n := userCount(t, ctx, q, "Gone"); n != 0 {
		t.Fatalf("%d users left by a rolled-back transaction, want 0", n)
	}
}

func TestWithTxRollsBackOnPanic(t *testing.T) {
	ctx, pool, q := setup(t)
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Fatalf("recovered %v, want the panic to continue after rollback", p)
			}
		}()
		_ = db.WithTx(ctx, pool, func(q *db.Queries) error {
			if _, err := q.UserCreate(ctx, db.UserCreateParams{FirstName: "T", LastName: "Panicked"}); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	if n := userCount(t, ctx, q, "Panicked"); n != 0 {
		t.Fatalf("%d users left by a panicking transaction, want 0", n)
	}
	// dbtest fails the test if the panic leaked the connection.
}

func TestWithTxRollsBackOnCancel(t *testing.T) {
	ctx, pool, q := setup(t)
	txCtx, cancel := context.WithCancel(ctx)
	err := db.WithTx(txCtx, pool, func(q *db.Queries) error {
		_, err := q.UserCreate(txCtx, db.UserCreateParams{FirstName: "T", LastName: "Cancelled"})
		cancel() // the caller gives up before commit
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("WithTx error = %v, want context.Canceled", err)
	}
	if n := userCount(t, ctx, q, "Cancelled"); n != 0 {
		t.Fatalf("%d users left after cancellation, want 0", n)
	}
}

func TestWithTxNestedIsSavepoint(t *testing.T) {
	ctx, pool, q := setup(t)
	err := pgx.BeginFunc(ctx, pool, func(outer pgx.Tx) error {
		if _, err := db.New(outer).UserCreate(ctx, db.UserCreateParams{FirstName: "T", LastName: "Outer"}); err != nil {
			return err
		}
		inner := db.WithTx(ctx, outer, func(q *db.Queries) error {
			if _, err := q.UserCreate(ctx, db.UserCreateParams{FirstName: "T", LastName: "Inner"}); err != nil {
				return err
			}
			return errors.New("undo the inner part only")
		})
		if inner == nil {
			t.Error("inner WithTx returned nil, want its fn's error")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if outer, inner := userCount(t, ctx, q, "Outer"), userCount(t, ctx, q, "Inner"); outer != 1 || inner != 0 {
		t.Fatalf("after a failed savepoint: %d outer and %d inner users, want 1 and 0", outer, inner)
	}
}
