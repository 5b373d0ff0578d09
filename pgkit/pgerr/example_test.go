package pgerr_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/internal/testshop"
	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// Typed errors: not found, and constraint violations without row values.
func ExampleConstraintError() {
	d, _, userID, done := testshop.ExampleDB(pgkit.Config{})
	defer done()
	ctx := context.Background()
	q := db.New(d)

	_, err := q.UserGetByID(ctx, 999)
	fmt.Println(err, errors.Is(err, pgerr.ErrNotFound))

	_, err = q.UserCreateWithID(ctx, db.UserCreateWithIDParams{UserID: userID, FirstName: "Ada", LastName: "Byron"})
	var ce *pgerr.ConstraintError
	if errors.As(err, &ce) {
		fmt.Println(ce.Kind, ce.Constraint, errors.Is(err, pgerr.ErrUniqueViolation))
		fmt.Println(err)
	}
	// Output:
	// UserGetByID: not found true
	// unique violation users_pkey true
	// UserCreateWithID: unique violation on constraint "users_pkey" of table "users"
}
