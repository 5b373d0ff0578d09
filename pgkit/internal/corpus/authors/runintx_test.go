package authors_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shopdb/shopdb/pgkit/internal/corpus/authors"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/conform"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// TestRunInTxOnRawPgx: the generated Store.RunInTx on what pgkit did not
// make (a pgxpool.Pool, a pgx.Conn) commits on nil, rolls back on an
// error, a panic (which goes on) and a context that ends in fn, and
// leaves the pool or connection usable; on a pgkit DB a serialization
// failure runs fn again.
func TestRunInTxOnRawPgx(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	d := pgkittest.New(t, conform.Migrations(migrations))
	conn, err := d.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	count := func() int {
		var n int
		if err := d.QueryRow(ctx, "SELECT count(*) FROM authors").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	errFn := errors.New("fn failed")
	for name, db := range map[string]authors.DBTX{"pgxpool.Pool": d.Pool(), "pgx.Conn": conn.Conn()} {
		q := authors.New(db)
		before := count()
		create := func(s authors.Store, email string) error {
			_, err := s.CreateAuthor(ctx, authors.CreateAuthorParams{Name: "R", Email: email})
			return err
		}
		if err := q.RunInTx(ctx, func(s authors.Store) error { return create(s, name+"-commit@x") }); err != nil {
			t.Fatalf("%s: commit: %v", name, err)
		}
		if err := q.RunInTx(ctx, func(s authors.Store) error {
			if err := create(s, name+"-error@x"); err != nil {
				return err
			}
			return errFn
		}); !errors.Is(err, errFn) {
			t.Fatalf("%s: fn's error: %v", name, err)
		}
		func() {
			defer func() {
				if p := recover(); p != "boom" {
					t.Fatalf("%s: panic %v, want fn's", name, p)
				}
			}()
			_ = q.RunInTx(ctx, func(s authors.Store) error {
				_ = create(s, name+"-panic@x")
				panic("boom")
			})
		}()
		fctx, cancel := context.WithCancel(ctx)
		if err := q.RunInTx(fctx, func(s authors.Store) error {
			err := create(s, name+"-cancel@x")
			cancel()
			return err
		}); !errors.Is(err, context.Canceled) {
			t.Fatalf("%s: a context ended in fn: %v", name, err)
		}
		if got := count() - before; got != 1 {
			t.Fatalf("%s: %d rows committed, want only the first RunInTx's", name, got)
		}
		if _, err := db.Exec(ctx, "SELECT 1"); err != nil {
			t.Fatalf("%s after the RunInTx calls: %v", name, err)
		}
	}
	runs := 0
	err = authors.New(d).RunInTx(ctx, func(s authors.Store) error {
		runs++
		if runs == 1 {
			return &pgconn.PgError{Code: "40001", Message: "could not serialize access"}
		}
		return nil
	})
	if err != nil || runs != 2 {
		t.Fatalf("RunInTx on a pgkit DB after a serialization failure: %v, %d runs, want 2", err, runs)
	}
}
