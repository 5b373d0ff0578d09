package pgerr_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/internal/kittest"
	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// Typed errors: not found, and constraint violations without row values.
func ExampleConstraintError() {
	d, _, accountID, done := kittest.ExampleDB(pgkit.Config{})
	defer done()
	ctx := context.Background()
	q := kitdb.New(d)

	_, err := q.AccountGetByID(ctx, 999)
	fmt.Println(err, errors.Is(err, pgerr.ErrNotFound))

	_, err = q.AccountCreateWithID(ctx, kitdb.AccountCreateWithIDParams{AccountID: accountID, Name: "Ada Byron", Team: "Engines"})
	var ce *pgerr.ConstraintError
	if errors.As(err, &ce) {
		fmt.Println(ce.Kind, ce.Constraint, errors.Is(err, pgerr.ErrUniqueViolation))
		fmt.Println(err)
	}
	// Output:
	// AccountGetByID: not found true
	// unique violation accounts_pkey true
	// AccountCreateWithID: unique violation on constraint "accounts_pkey" of table "accounts"
}
