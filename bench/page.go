package main

import (
	"context"

	"github.com/shopdb/shopdb/db"
)

// page is what the product page shows.
type page struct {
	product db.Product
	reviews []db.Review
	orders  []db.Order
}

// pageFns are the page's three queries, each filling its part of pg.
func pageFns(pg *page, productID, userID int64) []func(context.Context, *db.Queries) error {
	return []func(context.Context, *db.Queries) error{
		func(ctx context.Context, q *db.Queries) (err error) {
			pg.product, err = q.ProductGetByID(ctx, productID)
			return err
		},
		func(ctx context.Context, q *db.Queries) (err error) {
			pg.reviews, err = q.ReviewListByProduct(ctx, db.ReviewListByProductParams{ProductID: productID, Max: 10})
			return err
		},
		func(ctx context.Context, q *db.Queries) (err error) {
			pg.orders, err = q.OrderListByUser(ctx, db.OrderListByUserParams{UserID: userID, Max: 10})
			return err
		},
	}
}

// fetchFunc fetches one page.
type fetchFunc func(ctx context.Context, d *db.DB, productID, userID int64) error

var pageModes = []struct {
	name  string
	conns string
	fetch fetchFunc
}{
	{"sequential", "1 at a time, 3 round trips", func(ctx context.Context, d *db.DB, productID, userID int64) error {
		var pg page
		q := db.New(d)
		for _, fn := range pageFns(&pg, productID, userID) {
			if err := fn(ctx, q); err != nil {
				return err
			}
		}
		return nil
	}},
	{"fan-out (Gather)", "3", func(ctx context.Context, d *db.DB, productID, userID int64) error {
		var pg page
		return db.Gather(ctx, d, pageFns(&pg, productID, userID)...)
	}},
	{"pipelined (Pipeline)", "1, 1 round trip", func(ctx context.Context, d *db.DB, productID, userID int64) error {
		var pg page
		return db.Pipeline(ctx, d, pageFns(&pg, productID, userID)...)
	}},
}
