package pgkit_test

import (
	"context"
	"errors"
	"testing"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/internal/testshop"
	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// TestFetchHelpersInsideTxRollBack: Pipeline, Gather and the generated
// Store, called with the transaction of WithTx, write inside it, so their
// writes go when it rolls back. Before, they took connections of their own
// from the pool and their writes stayed (tx rows 0, pipeline rows 1, gather
// rows 1).
func TestFetchHelpersInsideTxRollBack(t *testing.T) {
	ctx, d, q := testshop.Setup(t)
	create := func(last string) func(context.Context, *db.Queries) error {
		return func(ctx context.Context, q *db.Queries) error {
			_, err := q.UserCreate(ctx, db.UserCreateParams{FirstName: "In", LastName: last})
			return err
		}
	}
	undo := errors.New("undo")
	acquiresBefore := d.Stats().Acquires
	err := pgkit.WithTx(ctx, d, db.New, func(tq *db.Queries) error {
		tx := tq.DB() // the transaction, as a pgkit.Source
		if err := create("Tx")(ctx, tq); err != nil {
			return err
		}
		if err := pgkit.Pipeline(ctx, tx, db.New, create("Pipeline1"), create("Pipeline2")); err != nil {
			return err
		}
		if err := pgkit.Gather(ctx, tx, db.New, create("Gather1"), create("Gather2")); err != nil {
			return err
		}
		// Inside, all of them are visible on the transaction.
		for _, last := range []string{"Tx", "Pipeline1", "Pipeline2", "Gather1", "Gather2"} {
			if n := len(testshop.Must(tq.UserList(ctx, db.UserListParams{NamePrefix: last, Max: 10}))(t)); n != 1 {
				t.Errorf("inside the transaction: %d users %q, want 1", n, last)
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
	for _, last := range []string{"Tx", "Pipeline1", "Pipeline2", "Gather1", "Gather2"} {
		if n := userCount(t, ctx, q, last); n != 0 {
			t.Errorf("after rollback: %d users %q, want 0: written outside the transaction", n, last)
		}
	}
}

// TestPipelineFirstFnErrorWins: when one fn fails (product not found) while
// a sibling is still reading a long result, Pipeline returns that fn's
// error, never the sibling's "context canceled" that the failure caused.
// Before, 5–16% of calls with a 500–20,000-row sibling returned
// "OrderListByUser: context canceled".
func TestPipelineFirstFnErrorWins(t *testing.T) {
	ctx, d, q := testshop.Setup(t)
	u := testshop.Must(q.UserCreate(ctx, db.UserCreateParams{FirstName: "Long", LastName: "History"}))(t)
	const orders = 20_000
	if _, err := d.Exec(ctx, `INSERT INTO orders (user_id, status, total_cents)
		SELECT $1, 'paid', g FROM generate_series(1, $2::int) g`, u.UserID, orders); err != nil {
		t.Fatal(err)
	}
	iterations := 200
	if testing.Short() {
		iterations = 20
	}
	var rowsSeen int
	for i := range iterations {
		var got []db.Order
		err := pgkit.Pipeline(ctx, d, db.New,
			func(ctx context.Context, q *db.Queries) error {
				_, err := q.ProductGetByID(ctx, 987654321)
				return err
			},
			func(ctx context.Context, q *db.Queries) (err error) {
				got, err = q.OrderListByUser(ctx, db.OrderListByUserParams{UserID: u.UserID, Max: orders})
				return err
			},
		)
		if !errors.Is(err, pgerr.ErrNotFound) || err.Error() != "ProductGetByID: not found" {
			t.Fatalf("iteration %d: Pipeline error = %v, want ProductGetByID's ErrNotFound", i, err)
		}
		rowsSeen += len(got)
	}
	t.Logf("%d iterations, the sibling read %d rows in all before being cancelled", iterations, rowsSeen)
}

// TestTypedErrorsOnEveryPath: whatever the generated Queries run on, a
// missing row is ErrNotFound named after its query and a constraint
// violation is a *ConstraintError.
func TestTypedErrorsOnEveryPath(t *testing.T) {
	ctx, d, q := testshop.Setup(t)
	u := testshop.Must(q.UserCreate(ctx, db.UserCreateParams{FirstName: "T", LastName: "E"}))(t)
	check := func(path string, q *db.Queries) {
		t.Helper()
		_, err := q.UserGetByID(ctx, 424242)
		if !errors.Is(err, pgerr.ErrNotFound) || err.Error() != "UserGetByID: not found" {
			t.Errorf("%s: not found = %v, want UserGetByID: not found", path, err)
		}
		_, err = q.UserCreateWithID(ctx, db.UserCreateWithIDParams{UserID: u.UserID, FirstName: "T", LastName: "E"})
		if ce, ok := err.(*pgerr.ConstraintError); !ok || ce.Constraint != "users_pkey" || ce.Query != "UserCreateWithID" {
			t.Errorf("%s: duplicate key = %v (%T), want *pgerr.ConstraintError on users_pkey", path, err, err)
		}
	}
	check("*pgkit.DB", q)

	tx := testshop.Must(d.Begin(ctx))(t)
	defer tx.Rollback(ctx)
	sp, err := tx.Begin(ctx) // savepoint
	if err != nil {
		t.Fatal(err)
	}
	check("db.New(tx) of *pgkit.DB's Begin", db.New(sp)) // the failure is undone with the savepoint
	_ = sp.Rollback(ctx)
	sp, _ = tx.Begin(ctx)
	check("sqlc's Queries.WithTx(pgkit tx)", q.WithTx(sp))
	_ = sp.Rollback(ctx)

	raw := testshop.Must(d.Pool().Begin(ctx))(t) // a pgx.Tx pgkit did not make
	defer raw.Rollback(ctx)
	rsp, _ := raw.Begin(ctx)
	check("pgkit.Wrap(raw pgx.Tx)", db.New(pgkit.Wrap(rsp)))
	_ = rsp.Rollback(ctx)
	check("pgkit.Wrap(*pgxpool.Pool)", db.New(pgkit.Wrap(d.Pool())))

	// A raw pgx.Tx handed to WithTx: fn's Queries are typed.
	rsp, _ = raw.Begin(ctx)
	_ = pgkit.WithTx(ctx, rsp, db.New, func(q *db.Queries) error { check("WithTx(raw pgx.Tx)", q); return errors.New("undo") })
	_ = rsp.Rollback(ctx)

	// Through the interface: the generated Store's RunInTx.
	var store db.Store = q
	_ = store.RunInTx(ctx, func(s db.Store) error { check("Store.RunInTx", s.(*db.Queries)); return errors.New("undo") })

	// Inside Pipeline on a transaction.
	_ = pgkit.WithTx(ctx, d, db.New, func(tq *db.Queries) error {
		return pgkit.Pipeline(ctx, tq.DB(), db.New, func(ctx context.Context, q *db.Queries) error {
			_, err := q.UserGetByID(ctx, 424242)
			if !errors.Is(err, pgerr.ErrNotFound) || err.Error() != "UserGetByID: not found" {
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
	_, err = d.Pool().Exec(ctx, "INSERT INTO users (user_id, first_name, last_name) VALUES ($1, 'x', 'y')", u.UserID)
	if ce, ok := pgerr.AsConstraint(err); !ok || ce.Kind != pgerr.ConstraintUnique {
		t.Errorf("raw pgx duplicate key: AsConstraint = %v, %v", ce, ok)
	}
}
