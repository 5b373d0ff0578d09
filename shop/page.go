package shop

import (
	"context"
	"fmt"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/pgkit"
)

// FetchMode says how LoadProductPage sends its queries.
type FetchMode int

// The fetch modes. The zero value is Pipelined.
const (
	// Pipelined sends the page's queries on one connection in one round
	// trip (pgkit.Pipeline).
	Pipelined FetchMode = iota
	// Concurrent runs them at once on connections of their own
	// (pgkit.Gather); inside a transaction it is Pipelined.
	Concurrent
	// Sequential runs them one after another on the pool.
	Sequential
)

// String names the mode as the shop's ?fetch= parameter does.
func (m FetchMode) String() string {
	switch m {
	case Concurrent:
		return "concurrent"
	case Sequential:
		return "sequential"
	}
	return "pipelined"
}

// Default page sizes of ProductPageRequest.
const (
	DefaultPageReviews = 10
	DefaultPageOrders  = 10
)

// ProductPageRequest says what LoadProductPage fetches. Zero sizes take the
// defaults above.
type ProductPageRequest struct {
	ProductID  int64
	CustomerID int64 // 0: no order history
	Reviews    int32 // newest reviews on the page
	Orders     int32 // newest orders of the customer on the page
	Mode       FetchMode
}

// ProductPage is the e-commerce product page of the articles: the product,
// its newest reviews and the customer's order history, fetched together.
// Reviews and Orders are never nil, so they encode as [] when empty.
type ProductPage struct {
	Product db.Product
	Reviews []db.Review
	Orders  []db.Order
}

// LoadProductPage fetches the page's product, reviews and orders at once,
// as req.Mode says, on src: a pool, or a transaction (a *pgkit.Tx, or
// q.DB() of the Queries inside pgkit.WithTx), whose connection it then
// shares. An unknown product fails with an error matching
// pgerr.ErrNotFound; an unknown customer just has no orders.
func LoadProductPage(ctx context.Context, src pgkit.DBTX, req ProductPageRequest) (ProductPage, error) {
	if req.Reviews <= 0 {
		req.Reviews = DefaultPageReviews
	}
	if req.Orders <= 0 {
		req.Orders = DefaultPageOrders
	}
	page := ProductPage{Reviews: []db.Review{}, Orders: []db.Order{}}
	fns := []func(context.Context, *db.Queries) error{
		func(ctx context.Context, q *db.Queries) (err error) {
			page.Product, err = q.ProductGetByID(ctx, req.ProductID)
			return err
		},
		func(ctx context.Context, q *db.Queries) (err error) {
			page.Reviews, err = q.ReviewListByProduct(ctx, db.ReviewListByProductParams{ProductID: req.ProductID, Max: req.Reviews})
			return err
		},
	}
	if req.CustomerID != 0 {
		fns = append(fns, func(ctx context.Context, q *db.Queries) (err error) {
			page.Orders, err = q.OrderListByUser(ctx, db.OrderListByUserParams{UserID: req.CustomerID, Max: req.Orders})
			return err
		})
	}
	var err error
	switch req.Mode {
	case Concurrent:
		err = pgkit.Gather(ctx, src, db.New, fns...)
	case Sequential:
		q := db.New(pgkit.Wrap(src))
		for _, fn := range fns {
			if err = fn(ctx, q); err != nil {
				break
			}
		}
	default:
		err = pgkit.Pipeline(ctx, src, db.New, fns...)
	}
	if err != nil {
		return ProductPage{}, fmt.Errorf("load product page: %w", err)
	}
	return page, nil
}
