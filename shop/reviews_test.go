package shop_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/internal/testshop"
	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/shop"
)

// reviewedProduct makes a product with reviews of the given ratings, the
// i-th written i minutes after the first, but the last two at the same
// instant (ties are broken by id), and another product's review beside it.
func reviewedProduct(t *testing.T, ctx context.Context, d *pgkit.DB, q *db.Queries, ratings []int16) db.Product {
	t.Helper()
	p := testshop.Must(q.ProductCreate(ctx, db.ProductCreateParams{Sku: "SORTED", Name: "Sorted", PriceCents: 1}))(t)
	other := testshop.Must(q.ProductCreate(ctx, db.ProductCreateParams{Sku: "OTHER", Name: "Other", PriceCents: 1}))(t)
	for i, r := range ratings {
		u := testshop.Must(q.UserCreate(ctx, db.UserCreateParams{FirstName: "R", LastName: fmt.Sprint(i)}))(t)
		testshop.Must(q.ReviewCreate(ctx, db.ReviewCreateParams{ProductID: p.ProductID, UserID: u.UserID, Rating: r}))(t)
		if i == 0 {
			testshop.Must(q.ReviewCreate(ctx, db.ReviewCreateParams{ProductID: other.ProductID, UserID: u.UserID, Rating: 5}))(t)
		}
	}
	_, err := d.Exec(ctx, `UPDATE reviews SET created_at = timestamptz '2026-01-01 00:00:00.000001+00' + least(review_id, $2) * interval '1 minute' WHERE product_id = $1`,
		p.ProductID, len(ratings)-1)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// wantOrder returns reviews sorted as sort says, computed here in Go.
func wantOrder(reviews []db.Review, sort db.ReviewListSort) []int64 {
	reviews = slices.Clone(reviews)
	slices.SortFunc(reviews, func(a, b db.Review) int {
		if sort == db.ReviewListSortHighestRated && a.Rating != b.Rating {
			return int(b.Rating) - int(a.Rating)
		}
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return int(b.ReviewID - a.ReviewID)
	})
	var ids []int64
	for _, r := range reviews {
		ids = append(ids, r.ReviewID)
	}
	return ids
}

// allPages follows ListReviews' cursors from the first page to the last,
// in pages of n, through the cursor's string form as a URL carries it.
func allPages(t *testing.T, ctx context.Context, src pgkit.DBTX, productID int64, sort db.ReviewListSort, n int32) ([]int64, []db.Review) {
	t.Helper()
	var ids []int64
	var all []db.Review
	req := shop.ReviewsRequest{ProductID: productID, Sort: sort, Limit: n}
	for pages := 0; ; pages++ {
		if pages > 20 {
			t.Fatalf("%s: more than 20 pages of %d", sort, n)
		}
		page, err := shop.ListReviews(ctx, src, req)
		if err != nil {
			t.Fatalf("%s page %d: %v", sort, pages, err)
		}
		if page.Reviews == nil || len(page.Reviews) > int(n) {
			t.Fatalf("%s page %d: %d reviews (nil %v), want at most %d and never nil", sort, pages, len(page.Reviews), page.Reviews == nil, n)
		}
		for _, r := range page.Reviews {
			ids = append(ids, r.ReviewID)
			all = append(all, r)
		}
		if page.Next == nil {
			return ids, all
		}
		if len(page.Reviews) != int(n) {
			t.Fatalf("%s page %d: a next cursor after a short page of %d", sort, pages, len(page.Reviews))
		}
		c, err := shop.ParseReviewCursor(page.Next.String())
		if err != nil || c.Rating != page.Next.Rating || !c.CreatedAt.Equal(page.Next.CreatedAt) || c.ID != page.Next.ID {
			t.Fatalf("cursor %q round trip: %+v, %v; want %+v", page.Next.String(), c, err, *page.Next)
		}
		req.Before = c
	}
}

func TestListReviewsSorted(t *testing.T) {
	ctx, d, q := testshop.Setup(t)
	p := reviewedProduct(t, ctx, d, q, []int16{3, 5, 1, 5, 4, 2, 5, 3})
	_, reviews := allPages(t, ctx, d, p.ProductID, db.ReviewListSortNewest, 100)
	if len(reviews) != 8 {
		t.Fatalf("%d reviews of the product, want 8 (and none of the other product)", len(reviews))
	}
	for _, sort := range []db.ReviewListSort{"", db.ReviewListSortNewest, db.ReviewListSortHighestRated} {
		want := wantOrder(reviews, sort)
		for _, n := range []int32{1, 2, 3, 8} {
			got, _ := allPages(t, ctx, d, p.ProductID, sort, n)
			if !slices.Equal(got, want) {
				t.Errorf("sort %q in pages of %d: %v, want %v", sort, n, got, want)
			}
		}
	}
	if slices.Equal(wantOrder(reviews, db.ReviewListSortNewest), wantOrder(reviews, db.ReviewListSortHighestRated)) {
		t.Fatal("the data does not tell the orders apart")
	}

	// Inside a transaction the list sees the transaction's own writes.
	err := pgkit.WithTx(ctx, d, db.New, func(tq *db.Queries) error {
		u := testshop.Must(tq.UserCreate(ctx, db.UserCreateParams{FirstName: "T", LastName: "x"}))(t)
		r := testshop.Must(tq.ReviewCreate(ctx, db.ReviewCreateParams{ProductID: p.ProductID, UserID: u.UserID, Rating: 5}))(t)
		page, err := shop.ListReviews(ctx, tq.DB(), shop.ReviewsRequest{ProductID: p.ProductID, Sort: db.ReviewListSortHighestRated, Limit: 1})
		if err != nil {
			return err
		}
		if len(page.Reviews) != 1 || page.Reviews[0].ReviewID != r.ReviewID {
			t.Errorf("in a transaction: %+v, want the new 5-star review %d first (newest among 5 stars)", page.Reviews, r.ReviewID)
		}
		return errors.New("undo")
	})
	if err == nil || err.Error() != "undo" {
		t.Fatal(err)
	}
}

func TestListReviewsRefusals(t *testing.T) {
	ctx, d, q := testshop.Setup(t)
	p := reviewedProduct(t, ctx, d, q, []int16{4, 2})
	if _, err := shop.ListReviews(ctx, d, shop.ReviewsRequest{ProductID: p.ProductID, Sort: "cheapest"}); !errors.Is(err, shop.ErrInvalidSort) {
		t.Errorf("sort cheapest: %v, want ErrInvalidSort", err)
	}
	if _, err := shop.ListReviews(ctx, d, shop.ReviewsRequest{ProductID: p.ProductID, Limit: shop.MaxPageItems + 1}); !errors.Is(err, shop.ErrPageTooLarge) {
		t.Errorf("limit %d: %v, want ErrPageTooLarge", shop.MaxPageItems+1, err)
	}
	page, err := shop.ListReviews(ctx, d, shop.ReviewsRequest{ProductID: 1 << 40})
	if err != nil || page.Reviews == nil || len(page.Reviews) != 0 || page.Next != nil {
		t.Errorf("unknown product: %+v, %v; want an empty page", page, err)
	}
	for _, s := range []string{"1", "1.2", "x.1.2", "1.2.0", "1.2.-3", "99999.1.2", "1.2.3.4", "5.-210866803200000001.1", "5.-9223372036854775808.1", "5.9223372036854775807.1", "5.253402300800000000.1"} {
		if _, err := shop.ParseReviewCursor(s); !errors.Is(err, shop.ErrInvalidCursor) {
			t.Errorf("cursor %q: %v, want ErrInvalidCursor", s, err)
		}
	}
}

// TestParseCursorBounds: a product page cursor whose time is outside the
// years 1 to 9999 (which PostgreSQL or pgx's encoding cannot hold, or
// wraps) is refused as invalid, as is any other malformed cursor; the
// bounds themselves and the cursor of a real page pass.
func TestParseCursorBounds(t *testing.T) {
	for _, s := range []string{"-210866803200000001.1", "-9223372036854775808.1", "9223372036854775807.1", "253402300800000000.1", "-62135596800000001.1", "x.1", "1.0", "1"} {
		if _, err := shop.ParseCursor(s); !errors.Is(err, shop.ErrInvalidCursor) {
			t.Errorf("cursor %q: %v, want ErrInvalidCursor", s, err)
		}
	}
	for _, s := range []string{"-62135596800000000.1", "253402300799999999.7", "1767225600000000.3"} {
		c, err := shop.ParseCursor(s)
		if err != nil || c.String() != s {
			t.Errorf("cursor %q: %v, %v; want it back", s, c, err)
		}
	}
}
