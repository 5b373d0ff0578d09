package pgkit_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/internal/kittest"
	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// TestFetchHelpersInsideTxRollBack: Pipeline, Gather and the generated
// Store, called with the transaction of WithTx, write inside it, so their
// writes go when it rolls back. Before, they took connections of their own
// from the pool and their writes stayed (tx rows 0, pipeline rows 1, gather
// rows 1).
func TestFetchHelpersInsideTxRollBack(t *testing.T) {
	ctx, d, q := setup(t)
	create := func(team string) func(context.Context, *kitdb.Queries) error {
		return func(ctx context.Context, q *kitdb.Queries) error {
			_, err := q.AccountCreate(ctx, kitdb.AccountCreateParams{Name: "In", Team: team})
			return err
		}
	}
	undo := errors.New("undo")
	acquiresBefore := d.Stats().Acquires
	err := pgkit.WithTx(ctx, d, kitdb.New, func(tq *kitdb.Queries) error {
		tx := tq.DB() // the transaction, as a pgkit.Source
		if err := create("Tx")(ctx, tq); err != nil {
			return err
		}
		if err := pgkit.Pipeline(ctx, tx, kitdb.New, create("Pipeline1"), create("Pipeline2")); err != nil {
			return err
		}
		if err := pgkit.Gather(ctx, tx, kitdb.New, create("Gather1"), create("Gather2")); err != nil {
			return err
		}
		// Inside, all of them are visible on the transaction.
		for _, team := range []string{"Tx", "Pipeline1", "Pipeline2", "Gather1", "Gather2"} {
			if n := len(kittest.Must(tq.AccountList(ctx, kitdb.AccountListParams{TeamPrefix: team, Max: 10}))(t)); n != 1 {
				t.Errorf("inside the transaction: %d accounts %q, want 1", n, team)
			}
		}
		return undo
	})
	if !errors.Is(err, undo) {
		t.Fatalf("WithTx error = %v", err)
	}
	if got := d.Stats().Acquires - acquiresBefore; got != 1 {
		t.Errorf("%d connections acquired, want 1: the helpers left the transaction's connection", got)
	}
	for _, team := range []string{"Tx", "Pipeline1", "Pipeline2", "Gather1", "Gather2"} {
		if n := accountCount(t, ctx, q, team); n != 0 {
			t.Errorf("after rollback: %d accounts %q, want 0: written outside the transaction", n, team)
		}
	}
}

// checkTypedErrors runs, with q, a :one query that finds nothing and an
// insert that violates accounts' primary key (existing is an account_id
// already there): the first must be ErrNotFound named after its query, the
// second a *ConstraintError naming the constraint and the query.
func checkTypedErrors(t *testing.T, ctx context.Context, path string, q *kitdb.Queries, existing int64) {
	t.Helper()
	_, err := q.AccountGetByID(ctx, 424242)
	if !errors.Is(err, pgerr.ErrNotFound) || err.Error() != "AccountGetByID: not found" {
		t.Errorf("%s: not found = %v, want AccountGetByID: not found", path, err)
	}
	_, err = q.AccountCreateWithID(ctx, kitdb.AccountCreateWithIDParams{AccountID: existing, Name: "T", Team: "E"})
	if ce, ok := err.(*pgerr.ConstraintError); !ok || ce.Constraint != "accounts_pkey" || ce.Query != "AccountCreateWithID" {
		t.Errorf("%s: duplicate key = %v (%T), want *pgerr.ConstraintError on accounts_pkey", path, err, err)
	}
}

// TestTypedErrorsOnEveryPath: whatever the generated Queries run on (a
// pool, a multiplexing DB, their transactions and savepoints, Gather and
// Pipeline on each, wrapped pgx values), a missing row is ErrNotFound
// named after its query and a constraint violation is a *ConstraintError.
// (Replicated, with every Config: TestReplicatedEveryConfig.)
func TestTypedErrorsOnEveryPath(t *testing.T) {
	ctx, d, q := setup(t)
	a := kittest.Must(q.AccountCreate(ctx, kitdb.AccountCreateParams{Name: "T", Team: "E"}))(t)
	check := func(path string, q *kitdb.Queries) {
		t.Helper()
		checkTypedErrors(t, ctx, path, q, a.AccountID)
	}
	check("*pgkit.DB", q)

	// The same through a multiplexing DB on the same database, and through
	// Gather and Pipeline on each DB.
	mx, err := pgkit.Open(ctx, d.Pool().Config().ConnString(), pgkit.Config{MaxConns: 3, Multiplex: true})
	if err != nil {
		t.Fatal(err)
	}
	defer mx.Close()
	check("multiplexing *pgkit.DB", kitdb.New(mx))
	_ = pgkit.WithTx(ctx, mx, kitdb.New, func(q *kitdb.Queries) error {
		sp, err := q.DB().(pgx.Tx).Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer sp.Rollback(ctx)
		check("a multiplexing DB's transaction", kitdb.New(sp))
		return errors.New("undo")
	})
	for name, db := range map[string]*pgkit.DB{"pool": d, "multiplexing": mx} {
		both := func(ctx context.Context, q *kitdb.Queries) error { check(name, q); return nil }
		if err := pgkit.Gather(ctx, db, kitdb.New, both, both); err != nil {
			t.Errorf("Gather on the %s DB: %v", name, err)
		}
		if err := pgkit.Pipeline(ctx, db, kitdb.New, func(ctx context.Context, q *kitdb.Queries) error {
			_, err := q.AccountGetByID(ctx, 424242)
			if !errors.Is(err, pgerr.ErrNotFound) || err.Error() != "AccountGetByID: not found" {
				t.Errorf("Pipeline on the %s DB: not found = %v", name, err)
			}
			return nil
		}); err != nil {
			t.Errorf("Pipeline on the %s DB: %v", name, err)
		}
	}

	tx := kittest.Must(d.Begin(ctx))(t)
	defer tx.Rollback(ctx)
	sp, err := tx.Begin(ctx) // savepoint
	if err != nil {
		t.Fatal(err)
	}
	check("kitdb.New(tx) of *pgkit.DB's Begin", kitdb.New(sp)) // the failure is undone with the savepoint
	_ = sp.Rollback(ctx)
	sp, _ = tx.Begin(ctx)
	check("sqlc's Queries.WithTx(pgkit tx)", q.WithTx(sp))
	_ = sp.Rollback(ctx)

	raw := kittest.Must(d.Pool().Begin(ctx))(t) // a pgx.Tx pgkit did not make
	defer raw.Rollback(ctx)
	rsp, _ := raw.Begin(ctx)
	check("pgkit.Wrap(raw pgx.Tx)", kitdb.New(pgkit.Wrap(rsp)))
	_ = rsp.Rollback(ctx)
	check("pgkit.Wrap(*pgxpool.Pool)", kitdb.New(pgkit.Wrap(d.Pool())))

	// A raw pgx.Tx handed to WithTx: fn's Queries are typed.
	rsp, _ = raw.Begin(ctx)
	_ = pgkit.WithTx(ctx, rsp, kitdb.New, func(q *kitdb.Queries) error { check("WithTx(raw pgx.Tx)", q); return errors.New("undo") })
	_ = rsp.Rollback(ctx)

	// Through the interface: the generated Store's RunInTx.
	var store kitdb.Store = q
	_ = store.RunInTx(ctx, func(s kitdb.Store) error { check("Store.RunInTx", s.(*kitdb.Queries)); return errors.New("undo") })

	// Inside Pipeline on a transaction.
	_ = pgkit.WithTx(ctx, d, kitdb.New, func(tq *kitdb.Queries) error {
		return pgkit.Pipeline(ctx, tq.DB(), kitdb.New, func(ctx context.Context, q *kitdb.Queries) error {
			_, err := q.AccountGetByID(ctx, 424242)
			if !errors.Is(err, pgerr.ErrNotFound) || err.Error() != "AccountGetByID: not found" {
				t.Errorf("Pipeline in a tx: not found = %v", err)
			}
			return nil
		})
	})

	// Plain pgx, no pgkit at all: the classifiers still work.
	var n int
	err = d.Pool().QueryRow(ctx, "SELECT 1 WHERE false").Scan(&n)
	if !errors.Is(err, pgerr.ErrNotFound) {
		t.Errorf("raw pgx no rows: errors.Is(err, pgerr.ErrNotFound) = false for %v", err)
	}
	_, err = d.Pool().Exec(ctx, "INSERT INTO accounts (account_id, name, team) VALUES ($1, 'x', 'y')", a.AccountID)
	if ce, ok := pgerr.AsConstraint(err); !ok || ce.Kind != pgerr.ConstraintUnique {
		t.Errorf("raw pgx duplicate key: AsConstraint = %v, %v", ce, ok)
	}
}
