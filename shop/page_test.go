package shop_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/internal/testshop"
	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/shop"
)

func TestLoadProductPageModesAgree(t *testing.T) {
	ctx, d, q := testshop.Setup(t)
	p, customer := testshop.Shop(t, ctx, q)
	req := shop.ProductPageRequest{ProductID: p.ProductID, CustomerID: customer.UserID, Reviews: 2}
	var pages []shop.ProductPage
	for _, mode := range []shop.FetchMode{shop.Sequential, shop.Concurrent, shop.Pipelined, shop.Batched} {
		req.Mode = mode
		page, err := shop.LoadProductPage(ctx, d, req)
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		if page.Product.ProductID != p.ProductID || len(page.Reviews) != 2 || len(page.Orders) != 3 {
			t.Fatalf("%s: product %d, %d reviews, %d orders; want %d, 2 (page size), 3", mode, page.Product.ProductID, len(page.Reviews), len(page.Orders), p.ProductID)
		}
		pages = append(pages, page)
	}
	if !reflect.DeepEqual(pages[0], pages[1]) || !reflect.DeepEqual(pages[0], pages[2]) {
		t.Fatalf("modes disagree:\n%+v\n%+v\n%+v", pages[0], pages[1], pages[2])
	}

	// Inside a transaction every mode reads the transaction's own writes.
	err := pgkit.WithTx(ctx, d, db.New, func(tq *db.Queries) error {
		testshop.Must(tq.OrderCreate(ctx, db.OrderCreateParams{UserID: customer.UserID, Status: db.OrderStatusPending, TotalCents: 1}))(t)
		for _, mode := range []shop.FetchMode{shop.Sequential, shop.Concurrent, shop.Pipelined, shop.Batched} {
			page, err := shop.LoadProductPage(ctx, tq.DB(), shop.ProductPageRequest{ProductID: p.ProductID, CustomerID: customer.UserID, Mode: mode})
			if err != nil {
				return err
			}
			if len(page.Orders) != 4 {
				t.Errorf("%s in a transaction: %d orders, want 4 (with the uncommitted one)", mode, len(page.Orders))
			}
		}
		return errors.New("undo")
	})
	if err == nil || err.Error() != "undo" {
		t.Fatal(err)
	}
}

func TestLoadProductPageNotFoundAndEmpty(t *testing.T) {
	ctx, d, q := testshop.Setup(t)
	for _, mode := range []shop.FetchMode{shop.Sequential, shop.Concurrent, shop.Pipelined, shop.Batched} {
		_, err := shop.LoadProductPage(ctx, d, shop.ProductPageRequest{ProductID: 99, CustomerID: 1, Mode: mode})
		if !errors.Is(err, pgerr.ErrNotFound) || !strings.Contains(err.Error(), "ProductGetByID: not found") {
			t.Errorf("%s: unknown product: %v, want ProductGetByID's ErrNotFound", mode, err)
		}
	}
	p := testshop.Must(q.ProductCreate(ctx, db.ProductCreateParams{Sku: "LONELY", Name: "Lonely", PriceCents: 1}))(t)
	page, err := shop.LoadProductPage(ctx, d, shop.ProductPageRequest{ProductID: p.ProductID, CustomerID: 12345})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(map[string]any{"reviews": page.Reviews, "orders": page.Orders})
	if string(out) != `{"orders":[],"reviews":[]}` {
		t.Fatalf("empty page lists encode as %s", out)
	}
}
