package queries_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/internal/testshop"
)

func TestProducts(t *testing.T) {
	ctx, _, q := testshop.Setup(t)

	p := testshop.Must(q.ProductCreate(ctx, db.ProductCreateParams{Sku: "ENG-1", Name: "Engine", Description: testshop.Ptr("steam"), PriceCents: 999, Stock: 2}))(t)
	if p.ProductID == 0 || p.Sku != "ENG-1" || *p.Description != "steam" || p.PriceCents != 999 || p.Stock != 2 {
		t.Fatalf("ProductCreate returned %+v", p)
	}
	var many []db.ProductCreateManyParams
	for i := range 5 {
		many = append(many, db.ProductCreateManyParams{Sku: fmt.Sprintf("BULK-%d", i), Name: "Bulk", PriceCents: int64(100 * i), Stock: int32(i)})
	}
	if n := testshop.Must(q.ProductCreateMany(ctx, many))(t); n != 5 {
		t.Fatalf("ProductCreateMany copied %d rows, want 5", n)
	}

	if got := testshop.Must(q.ProductGetByID(ctx, p.ProductID))(t); got.Name != "Engine" || got.Stock != 2 {
		t.Fatalf("ProductGetByID = %+v", got)
	}
	bulk3 := testshop.Must(q.ProductGetBySKU(ctx, "BULK-3"))(t)
	if bulk3.Stock != 3 || bulk3.PriceCents != 300 || bulk3.Description != nil {
		t.Fatalf("ProductGetBySKU(BULK-3) = %+v", bulk3)
	}
	if got := testshop.Must(q.ProductListByIDs(ctx, []int64{bulk3.ProductID, p.ProductID}))(t); len(got) != 2 || got[0].ProductID != p.ProductID {
		t.Fatalf("ProductListByIDs = %+v", got)
	}

	all := testshop.Must(q.ProductList(ctx, db.ProductListParams{Max: 100}))(t)
	inStock := testshop.Must(q.ProductList(ctx, db.ProductListParams{InStockOnly: true, Max: 100}))(t)
	if len(all) != 6 || len(inStock) != 5 { // BULK-0 has no stock
		t.Fatalf("ProductList: %d products, %d in stock; want 6 and 5", len(all), len(inStock))
	}
	page2 := testshop.Must(q.ProductList(ctx, db.ProductListParams{AfterProductID: all[2].ProductID, Max: 2}))(t)
	if len(page2) != 2 || page2[0].ProductID != all[3].ProductID {
		t.Fatalf("ProductList after %d = %+v, want products from %d", all[2].ProductID, page2, all[3].ProductID)
	}

	if stock := testshop.Must(q.ProductAdjustStock(ctx, db.ProductAdjustStockParams{ProductID: p.ProductID, Delta: -2}))(t); stock != 0 {
		t.Fatalf("stock after taking 2 of 2 = %d, want 0", stock)
	}
	_, err := q.ProductAdjustStock(ctx, db.ProductAdjustStockParams{ProductID: p.ProductID, Delta: -1})
	if pgErr := (*pgconn.PgError)(nil); !errors.As(err, &pgErr) || pgErr.ConstraintName != "products_stock_check" {
		t.Fatalf("overselling: error = %v, want products_stock_check violation", err)
	}
	if got := testshop.Must(q.ProductGetByID(ctx, p.ProductID))(t); got.Stock != 0 {
		t.Fatalf("stock after a refused sale = %d, want 0 (unchanged)", got.Stock)
	}

	if rows := testshop.Must(q.ProductUpdatePrice(ctx, db.ProductUpdatePriceParams{ProductID: p.ProductID, PriceCents: 1500}))(t); rows != 1 {
		t.Fatalf("ProductUpdatePrice affected %d rows", rows)
	}
	if got := testshop.Must(q.ProductGetByID(ctx, p.ProductID))(t); got.PriceCents != 1500 {
		t.Fatalf("price = %d, want 1500", got.PriceCents)
	}
}

func TestReviews(t *testing.T) {
	ctx, _, q := testshop.Setup(t)

	p1 := testshop.Must(q.ProductCreate(ctx, db.ProductCreateParams{Sku: "A", Name: "A", PriceCents: 1}))(t)
	p2 := testshop.Must(q.ProductCreate(ctx, db.ProductCreateParams{Sku: "B", Name: "B", PriceCents: 1}))(t)
	var reviews []db.Review
	for i := range 5 {
		u := testshop.Must(q.UserCreate(ctx, db.UserCreateParams{FirstName: "R", LastName: fmt.Sprint(i)}))(t)
		r := testshop.Must(q.ReviewCreate(ctx, db.ReviewCreateParams{ProductID: p1.ProductID, UserID: u.UserID, Rating: int16(i + 1), Body: testshop.Ptr("ok")}))(t)
		reviews = append(reviews, r)
		if i < 2 {
			testshop.Must(q.ReviewCreate(ctx, db.ReviewCreateParams{ProductID: p2.ProductID, UserID: u.UserID, Rating: 5}))(t)
		}
	}

	_, err := q.ReviewCreate(ctx, db.ReviewCreateParams{ProductID: p1.ProductID, UserID: reviews[0].UserID, Rating: 6})
	if pgErr := (*pgconn.PgError)(nil); !errors.As(err, &pgErr) || pgErr.ConstraintName != "reviews_rating_check" {
		t.Fatalf("rating 6: error = %v, want reviews_rating_check violation", err)
	}
	_, err = q.ReviewCreate(ctx, db.ReviewCreateParams{ProductID: p1.ProductID, UserID: reviews[0].UserID, Rating: 3})
	if pgErr := (*pgconn.PgError)(nil); !errors.As(err, &pgErr) || pgErr.ConstraintName != "reviews_product_id_user_id_key" {
		t.Fatalf("second review by the same user: error = %v, want reviews_product_id_user_id_key violation", err)
	}

	// Newest first, keyset pages of 2. Same-transaction timestamps can tie,
	// which the review_id tiebreak covers.
	var seen []int64
	var beforeAt *time.Time // nil, nil: the first page
	var beforeID *int64
	for {
		page := testshop.Must(q.ReviewListByProduct(ctx, db.ReviewListByProductParams{
			ProductID: p1.ProductID, BeforeReviewID: beforeID, BeforeCreatedAt: beforeAt, Max: 2,
		}))(t)
		if len(page) == 0 {
			break
		}
		for _, r := range page {
			seen = append(seen, r.ReviewID)
		}
		last := page[len(page)-1]
		beforeAt, beforeID = &last.CreatedAt, &last.ReviewID
	}
	if len(seen) != 5 || seen[0] != reviews[4].ReviewID || seen[4] != reviews[0].ReviewID {
		t.Fatalf("paged reviews %v, want newest (%d) to oldest (%d)", seen, reviews[4].ReviewID, reviews[0].ReviewID)
	}

	stats := testshop.Must(q.ReviewStatsByProduct(ctx, p1.ProductID))(t)
	if stats.ReviewCount != 5 || stats.AverageRating != 3 {
		t.Fatalf("ReviewStatsByProduct = %+v, want 5 reviews averaging 3", stats)
	}
	if empty := testshop.Must(q.ReviewStatsByProduct(ctx, -1))(t); empty.ReviewCount != 0 || empty.AverageRating != 0 {
		t.Fatalf("stats of a product with no reviews = %+v", empty)
	}

	// One batch, one round trip, one result set per product.
	counts := map[int]int{}
	q.ReviewListByProducts(ctx, []db.ReviewListByProductsParams{
		{ProductID: p1.ProductID, Max: 3}, {ProductID: p2.ProductID, Max: 3}, {ProductID: -1, Max: 3},
	}).Query(func(i int, rs []db.Review, err error) {
		if err != nil {
			t.Errorf("batch item %d: %v", i, err)
		}
		counts[i] = len(rs)
	})
	if counts[0] != 3 || counts[1] != 2 || counts[2] != 0 {
		t.Fatalf("ReviewListByProducts counts = %v, want 3, 2, 0", counts)
	}

	if rows := testshop.Must(q.ReviewDelete(ctx, reviews[0].ReviewID))(t); rows != 1 {
		t.Fatalf("ReviewDelete affected %d rows", rows)
	}
	if stats := testshop.Must(q.ReviewStatsByProduct(ctx, p1.ProductID))(t); stats.ReviewCount != 4 {
		t.Fatalf("after delete: %d reviews, want 4", stats.ReviewCount)
	}
}

func TestOrders(t *testing.T) {
	ctx, pool, q := testshop.Setup(t)

	u := testshop.Must(q.UserCreate(ctx, db.UserCreateParams{FirstName: "O", LastName: "Buyer"}))(t)
	other := testshop.Must(q.UserCreate(ctx, db.UserCreateParams{FirstName: "O", LastName: "Other"}))(t)
	p1 := testshop.Must(q.ProductCreate(ctx, db.ProductCreateParams{Sku: "A", Name: "A", PriceCents: 100, Stock: 10}))(t)
	p2 := testshop.Must(q.ProductCreate(ctx, db.ProductCreateParams{Sku: "B", Name: "B", PriceCents: 250, Stock: 10}))(t)

	var orders []db.Order
	for i := range 3 {
		o := testshop.Must(q.OrderCreate(ctx, db.OrderCreateParams{UserID: u.UserID, Status: db.OrderStatusPending, TotalCents: int64(i)}))(t)
		orders = append(orders, o)
	}
	testshop.Must(q.OrderCreate(ctx, db.OrderCreateParams{UserID: other.UserID, Status: db.OrderStatusPaid}))(t)
	_, err := q.OrderCreate(ctx, db.OrderCreateParams{UserID: -1, Status: db.OrderStatusPending})
	if pgErr := (*pgconn.PgError)(nil); !errors.As(err, &pgErr) || pgErr.ConstraintName != "orders_user_id_fkey" {
		t.Fatalf("order for a missing user: error = %v, want orders_user_id_fkey violation", err)
	}
	_, err = q.OrderCreate(ctx, db.OrderCreateParams{UserID: u.UserID, Status: "lost"})
	if pgErr := (*pgconn.PgError)(nil); !errors.As(err, &pgErr) || pgErr.Code != "22P02" {
		t.Fatalf("unknown status: error = %v, want invalid_text_representation (22P02)", err)
	}

	got := testshop.Must(q.OrderGetByID(ctx, orders[1].OrderID))(t)
	if got.Status != db.OrderStatusPending || got.UserID != u.UserID || !got.Status.Valid() {
		t.Fatalf("OrderGetByID = %+v", got)
	}

	// Lines go in as one batch.
	var done []int
	q.OrderItemCreate(ctx, []db.OrderItemCreateParams{
		{OrderID: orders[0].OrderID, ProductID: p2.ProductID, Quantity: 2, UnitPriceCents: 250},
		{OrderID: orders[0].OrderID, ProductID: p1.ProductID, Quantity: 1, UnitPriceCents: 100},
	}).Exec(func(i int, err error) {
		if err != nil {
			t.Errorf("batch line %d: %v", i, err)
		}
		done = append(done, i)
	})
	if len(done) != 2 {
		t.Fatalf("OrderItemCreate ran %v", done)
	}
	lines := testshop.Must(q.OrderItemListByOrder(ctx, orders[0].OrderID))(t)
	if len(lines) != 2 || lines[0].ProductID != p1.ProductID || lines[1].ProductID != p2.ProductID {
		t.Fatalf("OrderItemListByOrder = %+v, want lines for %d then %d", lines, p1.ProductID, p2.ProductID)
	}
	// A failing line in a batch reports its own error.
	var lineErrs []error
	q.OrderItemCreate(ctx, []db.OrderItemCreateParams{
		{OrderID: orders[1].OrderID, ProductID: p1.ProductID, Quantity: 0, UnitPriceCents: 1},
	}).Exec(func(_ int, err error) { lineErrs = append(lineErrs, err) })
	if pgErr := (*pgconn.PgError)(nil); len(lineErrs) != 1 || !errors.As(lineErrs[0], &pgErr) || pgErr.ConstraintName != "order_items_quantity_check" {
		t.Fatalf("quantity 0: errors = %v, want order_items_quantity_check violation", lineErrs)
	}

	// History: newest first, keyset on (created_at, order_id). Give the
	// orders distinct times so the test does not rest on the tiebreak only.
	for i, o := range orders {
		_, err := pool.Exec(ctx, "UPDATE orders SET created_at = $1 WHERE order_id = $2", time.Date(2026, 1, 1+i, 0, 0, 0, 0, time.UTC), o.OrderID)
		if err != nil {
			t.Fatal(err)
		}
	}
	first := testshop.Must(q.OrderListByUser(ctx, db.OrderListByUserParams{UserID: u.UserID, Max: 2}))(t)
	if len(first) != 2 || first[0].OrderID != orders[2].OrderID || first[1].OrderID != orders[1].OrderID {
		t.Fatalf("OrderListByUser first page = %+v", first)
	}
	last := first[1]
	rest := testshop.Must(q.OrderListByUser(ctx, db.OrderListByUserParams{UserID: u.UserID, BeforeOrderID: &last.OrderID, BeforeCreatedAt: &last.CreatedAt, Max: 2}))(t)
	if len(rest) != 1 || rest[0].OrderID != orders[0].OrderID {
		t.Fatalf("OrderListByUser second page = %+v, want only order %d", rest, orders[0].OrderID)
	}
	// The cursor is one term of two optional parameters: with either nil,
	// it is skipped and the list starts from the newest.
	for _, p := range []db.OrderListByUserParams{{BeforeOrderID: &last.OrderID}, {BeforeCreatedAt: &last.CreatedAt}} {
		p.UserID, p.Max = u.UserID, 10
		if all := testshop.Must(q.OrderListByUser(ctx, p))(t); len(all) != 3 || all[0].OrderID != orders[2].OrderID {
			t.Errorf("OrderListByUser with half a cursor (%v, %v) = %+v, want all 3 orders", p.BeforeOrderID, p.BeforeCreatedAt, all)
		}
	}

	pending := testshop.Must(q.OrderListByStatus(ctx, db.OrderListByStatusParams{Status: db.OrderStatusPending, Max: 10}))(t)
	if len(pending) != 3 {
		t.Fatalf("%d pending orders, want 3", len(pending))
	}
	move := db.OrderUpdateStatusParams{OrderID: orders[0].OrderID, FromStatus: db.OrderStatusPending, ToStatus: db.OrderStatusPaid}
	if rows := testshop.Must(q.OrderUpdateStatus(ctx, move))(t); rows != 1 {
		t.Fatalf("OrderUpdateStatus affected %d rows, want 1", rows)
	}
	if rows := testshop.Must(q.OrderUpdateStatus(ctx, move))(t); rows != 0 {
		t.Fatalf("repeating the same status move affected %d rows, want 0", rows)
	}
	after := testshop.Must(q.OrderListByStatus(ctx, db.OrderListByStatusParams{Status: db.OrderStatusPending, AfterOrderID: orders[0].OrderID, Max: 10}))(t)
	if len(after) != 2 || after[0].OrderID != orders[1].OrderID {
		t.Fatalf("pending orders after %d = %+v", orders[0].OrderID, after)
	}
	if len(db.AllOrderStatusValues()) != 4 {
		t.Fatalf("AllOrderStatusValues = %v, want the 4 statuses of the enum", db.AllOrderStatusValues())
	}
}

// TestEmptyListsEncodeAsEmptyArrays: a :many query with no row returns an
// empty slice, not nil, so JSON APIs answer [] instead of null
// (emit_empty_slices).
func TestEmptyListsEncodeAsEmptyArrays(t *testing.T) {
	ctx, _, q := testshop.Setup(t)
	reviews := testshop.Must(q.ReviewListByProduct(ctx, db.ReviewListByProductParams{ProductID: 1, Max: 10}))(t)
	orders := testshop.Must(q.OrderListByUser(ctx, db.OrderListByUserParams{UserID: 1, Max: 10}))(t)
	out, err := json.Marshal(map[string]any{"reviews": reviews, "orders": orders})
	if err != nil || string(out) != `{"orders":[],"reviews":[]}` {
		t.Fatalf("empty lists encode as %s (%v), want []", out, err)
	}
}

// TestCopyReviewsAndOrders: the :copyfrom queries of reviews and orders,
// in their slice form (the …Seq form is what bulkload uses), store exactly
// what they were given, the enum and the explicit created_at included.
func TestCopyReviewsAndOrders(t *testing.T) {
	ctx, _, q := testshop.Setup(t)
	u := testshop.Must(q.UserCreate(ctx, db.UserCreateParams{FirstName: "C", LastName: "R"}))(t)
	p := testshop.Must(q.ProductCreate(ctx, db.ProductCreateParams{Sku: "CR", Name: "CR", PriceCents: 1}))(t)
	n := testshop.Must(q.ReviewCreateMany(ctx, []db.ReviewCreateManyParams{{ProductID: p.ProductID, UserID: u.UserID, Rating: 4, Body: testshop.Ptr("copied")}}))(t)
	reviews := testshop.Must(q.ReviewListByProduct(ctx, db.ReviewListByProductParams{ProductID: p.ProductID, Max: 10}))(t)
	if n != 1 || len(reviews) != 1 || reviews[0].Rating != 4 || *reviews[0].Body != "copied" {
		t.Fatalf("ReviewCreateMany: %d copied, stored %+v", n, reviews)
	}
	when := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	n = testshop.Must(q.OrderCreateMany(ctx, []db.OrderCreateManyParams{
		{UserID: u.UserID, Status: db.OrderStatusShipped, TotalCents: 700, CreatedAt: when},
		{UserID: u.UserID, Status: db.OrderStatusCancelled, TotalCents: 0, CreatedAt: when.Add(time.Hour)},
	}))(t)
	orders := testshop.Must(q.OrderListByUser(ctx, db.OrderListByUserParams{UserID: u.UserID, Max: 10}))(t)
	if n != 2 || len(orders) != 2 || orders[0].Status != db.OrderStatusCancelled || !orders[1].CreatedAt.Equal(when) || orders[1].TotalCents != 700 {
		t.Fatalf("OrderCreateMany: %d copied, stored %+v", n, orders)
	}
}
