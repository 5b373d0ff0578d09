package main

import (
	"context"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"time"

	"github.com/shopdb/shopdb/db"
)

// table is what bulkload knows of one table: its CSV columns, how to check
// and convert one record into the generated Params of its :copyfrom query,
// and how to COPY rows (the generated …Seq method). T is that Params type,
// so rows are never boxed. Demo records are made in generate.go.
type table[T any] struct {
	columns []string
	// parse checks one record (len(columns) fields) and returns its row.
	parse func(rec []string) (T, error)
	// load copies rows with q in one COPY.
	load func(ctx context.Context, q *db.Queries, rows iter.Seq[T]) (int64, error)
}

// loadTable runs bulkload for the table named name.
func loadTable(ctx context.Context, name string, j job) (result, error) {
	switch name {
	case "users":
		return load(ctx, usersTable(), j)
	case "products":
		return load(ctx, productsTable(), j)
	case "reviews":
		return load(ctx, reviewsTable(), j)
	case "orders":
		return load(ctx, ordersTable(), j)
	}
	return result{}, fmt.Errorf("unknown table %q: want one of %s", name, tableNames())
}

func usersTable() table[db.UserCreateManyParams] {
	return table[db.UserCreateManyParams]{
		columns: []string{"first_name", "last_name", "email"},
		parse: func(rec []string) (db.UserCreateManyParams, error) {
			if rec[0] == "" || rec[1] == "" {
				return db.UserCreateManyParams{}, fmt.Errorf("first_name and last_name are required")
			}
			return db.UserCreateManyParams{FirstName: rec[0], LastName: rec[1], Email: optional(rec[2])}, nil
		},
		load: func(ctx context.Context, q *db.Queries, rows iter.Seq[db.UserCreateManyParams]) (int64, error) {
			return q.UserCreateManySeq(ctx, rows)
		},
	}
}

func productsTable() table[db.ProductCreateManyParams] {
	return table[db.ProductCreateManyParams]{
		columns: []string{"sku", "name", "description", "price_cents", "stock"},
		parse: func(rec []string) (db.ProductCreateManyParams, error) {
			var zero db.ProductCreateManyParams
			if rec[0] == "" || rec[1] == "" {
				return zero, fmt.Errorf("sku and name are required")
			}
			price, err := parseInt("price_cents", rec[3], 0, 1<<62)
			if err != nil {
				return zero, err
			}
			stock, err := parseInt("stock", rec[4], 0, 1<<31-1)
			if err != nil {
				return zero, err
			}
			return db.ProductCreateManyParams{Sku: rec[0], Name: rec[1], Description: optional(rec[2]), PriceCents: price, Stock: int32(stock)}, nil
		},
		load: func(ctx context.Context, q *db.Queries, rows iter.Seq[db.ProductCreateManyParams]) (int64, error) {
			return q.ProductCreateManySeq(ctx, rows)
		},
	}
}

func reviewsTable() table[db.ReviewCreateManyParams] {
	return table[db.ReviewCreateManyParams]{
		columns: []string{"product_id", "user_id", "rating", "body"},
		parse: func(rec []string) (db.ReviewCreateManyParams, error) {
			var zero db.ReviewCreateManyParams
			p, err := parseInt("product_id", rec[0], 1, 1<<62)
			if err != nil {
				return zero, err
			}
			u, err := parseInt("user_id", rec[1], 1, 1<<62)
			if err != nil {
				return zero, err
			}
			r, err := parseInt("rating", rec[2], 1, 5)
			if err != nil {
				return zero, err
			}
			return db.ReviewCreateManyParams{ProductID: p, UserID: u, Rating: int16(r), Body: optional(rec[3])}, nil
		},
		load: func(ctx context.Context, q *db.Queries, rows iter.Seq[db.ReviewCreateManyParams]) (int64, error) {
			return q.ReviewCreateManySeq(ctx, rows)
		},
	}
}

func ordersTable() table[db.OrderCreateManyParams] {
	return table[db.OrderCreateManyParams]{
		columns: []string{"user_id", "status", "total_cents", "created_at"},
		parse: func(rec []string) (db.OrderCreateManyParams, error) {
			var zero db.OrderCreateManyParams
			u, err := parseInt("user_id", rec[0], 1, 1<<62)
			if err != nil {
				return zero, err
			}
			status := db.OrderStatus(rec[1])
			if !status.Valid() {
				return zero, fmt.Errorf("status: want one of %v", db.AllOrderStatusValues())
			}
			total, err := parseInt("total_cents", rec[2], 0, 1<<62)
			if err != nil {
				return zero, err
			}
			created := time.Now().UTC()
			if rec[3] != "" {
				if created, err = time.Parse(time.RFC3339, rec[3]); err != nil {
					return zero, fmt.Errorf("created_at: want an RFC 3339 time such as 2026-01-02T15:04:05Z")
				}
			}
			return db.OrderCreateManyParams{UserID: u, Status: status, TotalCents: total, CreatedAt: created}, nil
		},
		load: func(ctx context.Context, q *db.Queries, rows iter.Seq[db.OrderCreateManyParams]) (int64, error) {
			return q.OrderCreateManySeq(ctx, rows)
		},
	}
}

func tableNames() string {
	return "users, products, reviews, orders"
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func parseInt(field, s string, lo, hi int64) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s: want an integer from %d to %d", field, lo, hi)
	}
	return n, nil
}
