package shop_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/internal/testshop"
	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/shop"
)

// TestLoadProductPageOneStatementIsPipelined: for several products (with
// reviews, without) and customers (with orders, without, none, unknown),
// every page of both lists, cursor after cursor, is the same in
// OneStatement as in Pipelined; so in a transaction; and an unknown
// product is ErrNotFound.
func TestLoadProductPageOneStatementIsPipelined(t *testing.T) {
	ctx, d, q := testshop.Setup(t)
	busy, customer := testshop.Shop(t, ctx, q)
	lonely := testshop.Must(q.ProductCreate(ctx, db.ProductCreateParams{Sku: "LONELY", Name: "Lonely ☃", PriceCents: 1}))(t)
	idle := testshop.Must(q.UserCreate(ctx, db.UserCreateParams{FirstName: "I", LastName: "Idle"}))(t)
	// Written in one transaction, these share created_at (now()): the
	// cursors must page by id among equal times.
	err := pgkit.WithTx(ctx, d, db.New, func(tq *db.Queries) error {
		for i := range 4 {
			u := testshop.Must(tq.UserCreate(ctx, db.UserCreateParams{FirstName: "T", LastName: fmt.Sprint(i)}))(t)
			body := testshop.Ptr(fmt.Sprintf("ünïcödé \"%d\" \\ 😀", i))
			if i%2 == 1 {
				body = nil
			}
			testshop.Must(tq.ReviewCreate(ctx, db.ReviewCreateParams{ProductID: busy.ProductID, UserID: u.UserID, Rating: int16(i + 1), Body: body}))(t)
			testshop.Must(tq.OrderCreate(ctx, db.OrderCreateParams{UserID: customer.UserID, Status: db.OrderStatusShipped, TotalCents: int64(100 + i)}))(t)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	pages := 0
	for _, product := range []db.Product{busy, lonely} {
		for _, cust := range []int64{0, customer.UserID, idle.UserID, 987654} {
			req := shop.ProductPageRequest{ProductID: product.ProductID, CustomerID: cust, Reviews: 2, Orders: 3}
			for {
				pipe := samePage(t, ctx, d, req)
				pages++
				if pipe.NextReviews == nil && pipe.NextOrders == nil {
					break
				}
				if pipe.NextReviews != nil {
					req.ReviewsBefore = *pipe.NextReviews
				}
				if pipe.NextOrders != nil {
					req.OrdersBefore = *pipe.NextOrders
				}
			}
		}
	}
	if pages < 12 {
		t.Fatalf("%d pages compared, want the cursors followed (at least 12)", pages)
	}

	// In a transaction: the uncommitted order is on the page.
	err = pgkit.WithTx(ctx, d, db.New, func(tq *db.Queries) error {
		o := testshop.Must(tq.OrderCreate(ctx, db.OrderCreateParams{UserID: idle.UserID, Status: db.OrderStatusPending, TotalCents: 7}))(t)
		pipe := samePage(t, ctx, tq.DB(), shop.ProductPageRequest{ProductID: lonely.ProductID, CustomerID: idle.UserID})
		if len(pipe.Orders) != 1 || pipe.Orders[0] != o {
			t.Errorf("in a transaction: orders %+v, want the uncommitted %+v", pipe.Orders, o)
		}
		return errors.New("undo")
	})
	if err == nil || err.Error() != "undo" {
		t.Fatal(err)
	}

	_, err = shop.LoadProductPage(ctx, d, shop.ProductPageRequest{ProductID: -5, Mode: shop.OneStatement})
	if !errors.Is(err, pgerr.ErrNotFound) || !strings.Contains(err.Error(), "ProductPageLoad") {
		t.Errorf("unknown product: %v, want ProductPageLoad's ErrNotFound", err)
	}
	if shop.OneStatement.String() != "one-statement" {
		t.Errorf("OneStatement is %q", shop.OneStatement)
	}
}

// samePage loads req Pipelined and OneStatement on src, fails unless the
// pages are equal, and returns the page.
func samePage(t *testing.T, ctx context.Context, src pgkit.DBTX, req shop.ProductPageRequest) shop.ProductPage {
	t.Helper()
	req.Mode = shop.Pipelined
	pipe, err := shop.LoadProductPage(ctx, src, req)
	if err != nil {
		t.Fatalf("Pipelined %+v: %v", req, err)
	}
	req.Mode = shop.OneStatement
	one, err := shop.LoadProductPage(ctx, src, req)
	if err != nil {
		t.Fatalf("OneStatement %+v: %v", req, err)
	}
	if !reflect.DeepEqual(pipe, one) {
		t.Fatalf("%+v: OneStatement's page\n%+v\nPipelined's\n%+v", req, one, pipe)
	}
	return pipe
}
