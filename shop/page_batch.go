package shop

import (
	"context"
	"fmt"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/pgkit"
)

// loadBatched is LoadProductPage's Batched mode: the page's queries queued
// on one db.Batch and sent in one round trip.
func loadBatched(ctx context.Context, src pgkit.DBTX, req ProductPageRequest) (ProductPage, error) {
	page := ProductPage{Reviews: []db.Review{}, Orders: []db.Order{}}
	var b db.Batch
	var (
		reviews []db.Review
		orders  []db.Order
	)
	b.ProductGetByID(&page.Product, req.ProductID)
	// One more than asked tells whether a next page exists.
	before, beforeID := req.ReviewsBefore.keyset()
	b.ReviewListByProduct(&reviews, db.ReviewListByProductParams{
		ProductID: req.ProductID, Max: req.Reviews + 1,
		BeforeReviewID: beforeID, BeforeCreatedAt: before,
	})
	if req.CustomerID != 0 {
		before, beforeID := req.OrdersBefore.keyset()
		b.OrderListByUser(&orders, db.OrderListByUserParams{
			UserID: req.CustomerID, Max: req.Orders + 1,
			BeforeOrderID: beforeID, BeforeCreatedAt: before,
		})
	}
	if err := b.Send(ctx, pgkit.Wrap(src)); err != nil {
		return ProductPage{}, fmt.Errorf("load product page: %w", err)
	}
	page.Reviews, page.NextReviews = trimPage(reviews, req.Reviews, func(r db.Review) Cursor { return Cursor{r.CreatedAt, r.ReviewID} })
	if req.CustomerID != 0 {
		page.Orders, page.NextOrders = trimPage(orders, req.Orders, func(o db.Order) Cursor { return Cursor{o.CreatedAt, o.OrderID} })
	}
	return page, nil
}
