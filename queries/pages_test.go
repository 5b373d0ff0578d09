package queries_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/internal/testshop"
)

// TestProductPageLoad: the one-statement page has the rows of
// ProductGetByID, ReviewListByProduct and OrderListByUser for the same
// arguments, decoded from JSON into the same types, and its lists encode
// as the same JSON.
func TestProductPageLoad(t *testing.T) {
	ctx, _, q := testshop.Setup(t)
	p, customer := testshop.Shop(t, ctx, q)
	row, err := q.ProductPageLoad(ctx, db.ProductPageLoadParams{ProductID: p.ProductID, MaxReviews: 2, CustomerID: customer.UserID, MaxOrders: 10})
	if err != nil {
		t.Fatal(err)
	}
	reviews := testshop.Must(q.ReviewListByProduct(ctx, db.ReviewListByProductParams{ProductID: p.ProductID, Max: 2}))(t)
	orders := testshop.Must(q.OrderListByUser(ctx, db.OrderListByUserParams{UserID: customer.UserID, Max: 10}))(t)
	want := db.ProductPageLoadRow{Product: p, Reviews: reviews, Orders: orders}
	if !reflect.DeepEqual(row, want) {
		t.Fatalf("ProductPageLoad:\n%+v\nwant\n%+v", row, want)
	}
	got, _ := json.Marshal(row)
	wantJSON, _ := json.Marshal(want)
	if string(got) != string(wantJSON) {
		t.Fatalf("ProductPageLoad encodes as %s, want %s", got, wantJSON)
	}
	// Customer 0: no order list at all, encoded as [].
	row, err = q.ProductPageLoad(ctx, db.ProductPageLoadParams{ProductID: p.ProductID, MaxReviews: 1, CustomerID: 0, MaxOrders: 10})
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := json.Marshal(row.Orders); len(row.Reviews) != 1 || string(out) != "[]" {
		t.Fatalf("customer 0: %d reviews, orders %s; want 1 and []", len(row.Reviews), out)
	}
}
