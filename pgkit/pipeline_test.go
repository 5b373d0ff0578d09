package pgkit_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/internal/testshop"
	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
	"github.com/shopdb/shopdb/schema"
)

// page is the product page: three queries.
type page struct {
	Product db.Product
	Reviews []db.Review
	Orders  []db.Order
}

func pageFns(pg *page, productID, userID int64) []func(context.Context, *db.Queries) error {
	return []func(context.Context, *db.Queries) error{
		func(ctx context.Context, q *db.Queries) (err error) {
			pg.Product, err = q.ProductGetByID(ctx, productID)
			return err
		},
		func(ctx context.Context, q *db.Queries) (err error) {
			pg.Reviews, err = q.ReviewListByProduct(ctx, db.ReviewListByProductParams{ProductID: productID, Max: 10})
			return err
		},
		func(ctx context.Context, q *db.Queries) (err error) {
			pg.Orders, err = q.OrderListByUser(ctx, db.OrderListByUserParams{UserID: userID, Max: 10})
			return err
		},
	}
}

func TestPipelineMatchesSequentialInOneRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	trips := &testshop.RoundTrips{}
	d := pgkittest.NewWithConfig(t, schema.FS(), pgkit.Config{Tracer: trips})
	q := db.New(d)
	p, customer := testshop.Shop(t, ctx, q)

	var want page
	for _, fn := range pageFns(&want, p.ProductID, customer.UserID) {
		if err := fn(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	trips.Reset()
	acquiresBefore := d.Stats().Acquires

	var got page
	if err := pgkit.Pipeline(ctx, d, db.New, pageFns(&got, p.ProductID, customer.UserID)...); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("pipelined page differs from sequential:\ngot  %+v\nwant %+v", got, want)
	}
	if len(got.Reviews) != 3 || len(got.Orders) != 3 {
		t.Fatalf("page has %d reviews and %d orders, want 3 and 3", len(got.Reviews), len(got.Orders))
	}
	queries, batches, batched := trips.Reset()
	if queries != 0 || batches != 1 || batched != 3 {
		t.Fatalf("Pipeline sent %d single queries and %d batches (%d queries); want one batch of 3", queries, batches, batched)
	}
	if n := d.Stats().Acquires - acquiresBefore; n != 1 {
		t.Fatalf("Pipeline took %d connections, want 1", n)
	}

	// Gather, for comparison, takes a connection per query.
	acquiresBefore = d.Stats().Acquires
	var gathered page
	if err := pgkit.Gather(ctx, d, db.New, pageFns(&gathered, p.ProductID, customer.UserID)...); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gathered, want) {
		t.Fatalf("gathered page differs from sequential")
	}
	if n := d.Stats().Acquires - acquiresBefore; n != 3 {
		t.Fatalf("Gather took %d connections, want 3", n)
	}
}

func TestPipelineRounds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	trips := &testshop.RoundTrips{}
	d := pgkittest.NewWithConfig(t, schema.FS(), pgkit.Config{Tracer: trips})
	q := db.New(d)
	p, customer := testshop.Shop(t, ctx, q)
	trips.Reset()

	var stats db.ReviewStatsByProductRow
	var updated int64
	var missingErr error
	var reviews []db.Review
	err := pgkit.Pipeline(ctx, d, db.New,
		func(ctx context.Context, q *db.Queries) error {
			// Two queries in a row: the second goes in round two.
			first, err := q.ReviewListByProduct(ctx, db.ReviewListByProductParams{ProductID: p.ProductID, Max: 1})
			if err != nil {
				return err
			}
			reviews, err = q.ReviewListByProduct(ctx, db.ReviewListByProductParams{
				ProductID: p.ProductID, BeforeReviewID: first[0].ReviewID, BeforeCreatedAt: first[0].CreatedAt, Max: 10,
			})
			return err
		},
		func(ctx context.Context, q *db.Queries) (err error) {
			stats, err = q.ReviewStatsByProduct(ctx, p.ProductID)
			return err
		},
		func(ctx context.Context, q *db.Queries) (err error) {
			updated, err = q.UserUpdateEmail(ctx, db.UserUpdateEmailParams{UserID: customer.UserID, Email: testshop.Ptr("p@example.com")})
			return err
		},
		func(ctx context.Context, q *db.Queries) error {
			_, missingErr = q.UserGetByID(ctx, -7)
			return nil
		},
	)
	if err != nil {
		t.Fatal(err)
	}
	if len(reviews) != 2 || stats.ReviewCount != 3 || updated != 1 || !errors.Is(missingErr, pgerr.ErrNotFound) {
		t.Fatalf("reviews %d, stats %+v, updated %d, missing %v", len(reviews), stats, updated, missingErr)
	}
	if _, batches, batched := trips.Reset(); batches != 2 || batched != 5 {
		t.Fatalf("%d batches with %d queries, want 2 rounds with 4 + 1", batches, batched)
	}
	if u := testshop.Must(q.UserGetByID(ctx, customer.UserID))(t); u.Email == nil || *u.Email != "p@example.com" {
		t.Fatalf("the pipelined update was not kept: %+v", u)
	}
}

func TestPipelineErrorAnywhere(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := pgkittest.New(t, schema.FS())
	q := db.New(d)
	p, customer := testshop.Shop(t, ctx, q)

	for failing := range 3 {
		var pg page
		fns := pageFns(&pg, p.ProductID, customer.UserID)
		// Replace one of the three with a write that breaks a constraint.
		fns[failing] = func(ctx context.Context, q *db.Queries) error {
			_, err := q.ReviewCreate(ctx, db.ReviewCreateParams{ProductID: p.ProductID, UserID: customer.UserID, Rating: 9})
			return err
		}
		err := pgkit.Pipeline(ctx, d, db.New, fns...)
		var ce *pgerr.ConstraintError
		if !errors.As(err, &ce) || ce.Constraint != "reviews_rating_check" || ce.Query != "ReviewCreate" {
			t.Fatalf("failing query %d: Pipeline error = %v, want the check violation of ReviewCreate", failing, err)
		}
	}
	// A write in the same round as a failing query does not stay, whichever
	// of the two the batch holds first: the round is one implicit transaction.
	err := pgkit.Pipeline(ctx, d, db.New,
		func(ctx context.Context, q *db.Queries) error {
			_, err := q.UserUpdateEmail(ctx, db.UserUpdateEmailParams{UserID: customer.UserID, Email: testshop.Ptr("lost@example.com")})
			return err
		},
		func(ctx context.Context, q *db.Queries) error {
			_, err := q.ReviewCreate(ctx, db.ReviewCreateParams{ProductID: p.ProductID, UserID: customer.UserID, Rating: 9})
			return err
		},
	)
	if !errors.Is(err, pgerr.ErrCheckViolation) {
		t.Fatalf("error = %v, want the check violation", err)
	}
	if u := testshop.Must(q.UserGetByID(ctx, customer.UserID))(t); u.Email != nil {
		t.Fatalf("the write of a failed round stayed: email %q", *u.Email)
	}

	// The connection went back healthy: the next pipeline works.
	var pg page
	if err := pgkit.Pipeline(ctx, d, db.New, pageFns(&pg, p.ProductID, customer.UserID)...); err != nil {
		t.Fatalf("pipeline after failures: %v", err)
	}
	if stats := testshop.Must(q.ReviewStatsByProduct(ctx, p.ProductID))(t); stats.ReviewCount != 3 {
		t.Fatalf("%d reviews after failed pipelines, want 3", stats.ReviewCount)
	}
}

func TestPipelineFnErrorsAndPanics(t *testing.T) {
	ctx, d, _ := testshop.Setup(t)
	sentinel := errors.New("not allowed")
	err := pgkit.Pipeline(ctx, d, db.New,
		func(ctx context.Context, q *db.Queries) error { return sentinel },
		func(ctx context.Context, q *db.Queries) error {
			_, err := q.UserList(ctx, db.UserListParams{Max: 1})
			return err
		},
	)
	if !errors.Is(err, sentinel) {
		t.Fatalf("error = %v, want the fn's error", err)
	}
	err = pgkit.Pipeline(ctx, d, db.New, func(ctx context.Context, q *db.Queries) error { panic("oops") })
	if err == nil || !strings.Contains(err.Error(), "panicked: oops") {
		t.Fatalf("error = %v, want the panic as an error", err)
	}
	err = pgkit.Pipeline(ctx, d, db.New, func(ctx context.Context, q *db.Queries) error {
		_, err := q.UserCreateMany(ctx, []db.UserCreateManyParams{{FirstName: "a", LastName: "b"}})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "cannot run inside Pipeline") {
		t.Fatalf("COPY inside Pipeline: %v, want a clear refusal", err)
	}
}

func TestPipelineStreamAndMisuse(t *testing.T) {
	ctx, d, q := testshop.Setup(t)
	testshop.Must(q.UserCreateMany(ctx, []db.UserCreateManyParams{{FirstName: "a", LastName: "1"}, {FirstName: "b", LastName: "2"}}))(t)

	// A stream read inside a pipeline works; a query inside its loop is refused.
	var streamed int
	var nestedErr error
	err := pgkit.Pipeline(ctx, d, db.New,
		func(ctx context.Context, q *db.Queries) error {
			for u, err := range q.UserExportStream(ctx, 0) {
				if err != nil {
					return err
				}
				streamed++
				if nestedErr == nil {
					_, nestedErr = q.UserGetByID(ctx, u.UserID)
				}
			}
			return nil
		},
		func(ctx context.Context, q *db.Queries) error {
			_, err := q.UserList(ctx, db.UserListParams{Max: 5})
			return err
		},
	)
	if err != nil || streamed != 2 || nestedErr == nil || !strings.Contains(nestedErr.Error(), "still open") {
		t.Fatalf("err %v, streamed %d, nested %v", err, streamed, nestedErr)
	}

	// A fn that panics while holding a result, and one that never scans its
	// row, leave the connection usable.
	err = pgkit.Pipeline(ctx, d, db.New,
		func(ctx context.Context, q *db.Queries) error {
			for range q.UserExportStream(ctx, 0) {
				panic("mid-stream")
			}
			return nil
		},
		func(ctx context.Context, q *db.Queries) error {
			_, err := q.UserList(ctx, db.UserListParams{Max: 5})
			return err
		},
	)
	if err == nil || !strings.Contains(err.Error(), "mid-stream") {
		t.Fatalf("err %v, want the panic", err)
	}
	var users []db.User
	if err := pgkit.Pipeline(ctx, d, db.New, func(ctx context.Context, q *db.Queries) (err error) {
		users, err = q.UserList(ctx, db.UserListParams{Max: 5})
		return err
	}); err != nil || len(users) != 2 {
		t.Fatalf("after misuse: %v, %d users", err, len(users))
	}
}
