package shop

import (
	"context"
	"fmt"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/pgkit"
)

// loadOneStatement is LoadProductPage's OneStatement mode: the page from
// db.ProductPageLoad, whose lists page exactly as ReviewListByProduct and
// OrderListByUser do (one more than asked tells whether a next page
// exists; customer 0 has no orders). req's sizes are checked already.
func loadOneStatement(ctx context.Context, src pgkit.DBTX, req ProductPageRequest) (ProductPage, error) {
	reviewsAt, reviewsID := req.ReviewsBefore.keyset()
	ordersAt, ordersID := req.OrdersBefore.keyset()
	row, err := db.New(pgkit.Wrap(src)).ProductPageLoad(ctx, db.ProductPageLoadParams{
		ProductID:             req.ProductID,
		MaxReviews:            req.Reviews + 1,
		BeforeReviewID:        reviewsID,
		BeforeReviewCreatedAt: reviewsAt,
		CustomerID:            req.CustomerID,
		MaxOrders:             req.Orders + 1,
		BeforeOrderID:         ordersID,
		BeforeOrderCreatedAt:  ordersAt,
	})
	if err != nil {
		return ProductPage{}, fmt.Errorf("load product page: %w", err)
	}
	page := ProductPage{Product: row.Product}
	page.Reviews, page.NextReviews = trimPage(row.Reviews, req.Reviews, func(r db.Review) Cursor { return Cursor{r.CreatedAt, r.ReviewID} })
	page.Orders, page.NextOrders = trimPage(row.Orders, req.Orders, func(o db.Order) Cursor { return Cursor{o.CreatedAt, o.OrderID} })
	return page, nil
}
