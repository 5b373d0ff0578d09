package main

// Raw pgx on the shop's workloads: the same SQL, written by hand against
// pgxpool.

import (
	"context"
	"fmt"
	"iter"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopdb/shopdb/shop"
)

const (
	sqlUser    = `SELECT user_id, first_name, last_name, email, created_at FROM users WHERE user_id = $1`
	sqlProduct = `SELECT product_id, sku, name, description, price_cents, stock, created_at FROM products WHERE product_id = $1`
	// The page's lists are the shop's (queries/reviews.sql, orders.sql):
	// a keyset cursor ($2, $3: NULL on the first page) and one row more
	// than shown ($4 = pageRows), which tells whether a next page exists.
	sqlReviews = `SELECT review_id, product_id, user_id, rating, body, created_at FROM reviews
		WHERE product_id = $1::bigint
		AND ($2::timestamptz IS NULL OR $3::bigint IS NULL OR (created_at, review_id) < ($2::timestamptz, $3::bigint))
		ORDER BY created_at DESC, review_id DESC LIMIT $4::integer`
	sqlOrders = `SELECT order_id, user_id, status, total_cents, created_at FROM orders
		WHERE user_id = $1::bigint
		AND ($2::timestamptz IS NULL OR $3::bigint IS NULL OR (created_at, order_id) < ($2::timestamptz, $3::bigint))
		ORDER BY created_at DESC, order_id DESC LIMIT $4::integer`
	sqlOrderExport = `SELECT order_id, user_id, status, total_cents, created_at FROM orders
		WHERE created_at >= $1 AND created_at < $2 ORDER BY order_id`
)

// pageRows is the rows a page's list asks for: the shop's default page
// (shop.DefaultPageReviews, DefaultPageOrders) and one more.
const pageRows = int32(shop.DefaultPageReviews + 1)

type rawUser struct {
	ID          int64
	First, Last string
	Email       *string
	Created     time.Time
}

type rawProduct struct {
	ID          int64
	SKU, Name   string
	Description *string
	Price       int64
	Stock       int32
	Created     time.Time
}

type rawReview struct {
	ID, ProductID, UserID int64
	Rating                int16
	Body                  *string
	Created               time.Time
}

type rawOrder struct {
	ID, UserID int64
	Status     string
	Total      int64
	Created    time.Time
}

func scanReviews(rows pgx.Rows) ([]rawReview, error) {
	defer rows.Close()
	var out []rawReview
	for rows.Next() {
		var r rawReview
		if err := rows.Scan(&r.ID, &r.ProductID, &r.UserID, &r.Rating, &r.Body, &r.Created); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func scanOrders(rows pgx.Rows) ([]rawOrder, error) {
	defer rows.Close()
	var out []rawOrder
	for rows.Next() {
		var o rawOrder
		if err := rows.Scan(&o.ID, &o.UserID, &o.Status, &o.Total, &o.Created); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

func runPgx(ctx context.Context, p params) (Result, error) {
	conns := map[string]int32{"point": pointConns, "page": pageConns, "order": orderConns, "copy": 1, "stream": 1, "oversub": oversubConns}[p.workload]
	cfg, err := pgxpool.ParseConfig(p.dsn)
	if err != nil {
		return Result{}, err
	}
	cfg.MaxConns, cfg.MinConns = conns, conns
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return Result{}, err
	}
	defer pool.Close()
	switch p.workload {
	case "point", "oversub":
		workers := map[string]int{"point": pointWorkers, "oversub": oversubCallers}[p.workload]
		return timedLoop(ctx, p, workers, func(ctx context.Context, _, _ int) error {
			var u rawUser
			return pool.QueryRow(ctx, sqlUser, 1+rand.Int64N(int64(p.users))).Scan(&u.ID, &u.First, &u.Last, &u.Email, &u.Created)
		})
	case "page":
		return timedLoop(ctx, p, pageInflight, func(ctx context.Context, _, _ int) error {
			productID, userID := 1+rand.Int64N(int64(p.products)), 1+rand.Int64N(int64(p.users))
			switch p.mode {
			case "sequential":
				return pgxPageSequential(ctx, pool, productID, userID)
			case "pipelined":
				return pgxPagePipelined(ctx, pool, productID, userID)
			}
			return fmt.Errorf("unknown page mode %q", p.mode)
		})
	case "order":
		return timedLoop(ctx, p, orderWorkers, func(ctx context.Context, _, _ int) error {
			return pgxPlaceOrder(ctx, pool, 1+rand.Int64N(int64(p.users)), orderLines())
		})
	case "copy":
		m := p.meter()
		m.start()
		start := time.Now()
		next, stop := iter.Pull(copyRows(p.rows))
		defer stop()
		row := make([]any, 3)
		n, err := pool.CopyFrom(ctx, pgx.Identifier{"users"}, []string{"first_name", "last_name", "email"},
			pgx.CopyFromFunc(func() ([]any, error) {
				u, ok := next()
				if !ok {
					return nil, nil
				}
				row[0], row[1], row[2] = u.FirstName, u.LastName, u.Email
				return row, nil
			}))
		r := Result{Rate: float64(n) / time.Since(start).Seconds(), Count: n}
		m.stop(&r, n)
		return r, err
	case "stream":
		return repeatStream(p, func() (int64, error) {
			rows, err := pool.Query(ctx, sqlOrderExport, time.Unix(0, 0), p.cutoff)
			if err != nil {
				return 0, err
			}
			defer rows.Close()
			var n int64
			for rows.Next() {
				var o rawOrder
				if err := rows.Scan(&o.ID, &o.UserID, &o.Status, &o.Total, &o.Created); err != nil {
					return n, err
				}
				n++
			}
			return n, rows.Err()
		})
	}
	return Result{}, fmt.Errorf("unknown workload %q", p.workload)
}

func pgxPageSequential(ctx context.Context, pool *pgxpool.Pool, productID, userID int64) error {
	var pr rawProduct
	if err := pool.QueryRow(ctx, sqlProduct, productID).Scan(&pr.ID, &pr.SKU, &pr.Name, &pr.Description, &pr.Price, &pr.Stock, &pr.Created); err != nil {
		return err
	}
	rows, err := pool.Query(ctx, sqlReviews, productID, nil, nil, pageRows)
	if err != nil {
		return err
	}
	if _, err := scanReviews(rows); err != nil {
		return err
	}
	rows, err = pool.Query(ctx, sqlOrders, userID, nil, nil, pageRows)
	if err != nil {
		return err
	}
	_, err = scanOrders(rows)
	return err
}

func pgxPagePipelined(ctx context.Context, pool *pgxpool.Pool, productID, userID int64) error {
	b := &pgx.Batch{}
	b.Queue(sqlProduct, productID)
	b.Queue(sqlReviews, productID, nil, nil, pageRows)
	b.Queue(sqlOrders, userID, nil, nil, pageRows)
	br := pool.SendBatch(ctx, b)
	defer br.Close()
	var pr rawProduct
	if err := br.QueryRow().Scan(&pr.ID, &pr.SKU, &pr.Name, &pr.Description, &pr.Price, &pr.Stock, &pr.Created); err != nil {
		return err
	}
	rows, err := br.Query()
	if err != nil {
		return err
	}
	if _, err := scanReviews(rows); err != nil {
		return err
	}
	rows, err = br.Query()
	if err != nil {
		return err
	}
	if _, err := scanOrders(rows); err != nil {
		return err
	}
	return br.Close()
}

func pgxPlaceOrder(ctx context.Context, pool *pgxpool.Pool, userID int64, lines []shop.OrderLine) error {
	qty := map[int64]int32{}
	for _, l := range lines {
		qty[l.ProductID] += l.Quantity
	}
	ids := make([]int64, 0, len(qty))
	for id := range qty {
		ids = append(ids, id)
	}
	if len(ids) == 2 && ids[0] > ids[1] {
		ids[0], ids[1] = ids[1], ids[0]
	}
	q := make([]int32, len(ids))
	for i, id := range ids {
		q[i] = qty[id]
	}
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT product_id, price_cents, stock FROM products WHERE product_id = ANY($1::bigint[]) ORDER BY product_id FOR UPDATE`, ids)
		if err != nil {
			return err
		}
		prices := make([]int64, 0, len(ids))
		var total int64
		i := 0
		for rows.Next() {
			var id, price int64
			var stock int32
			if err := rows.Scan(&id, &price, &stock); err != nil {
				return err
			}
			if stock < q[i] {
				return fmt.Errorf("product %d: insufficient stock", id)
			}
			prices = append(prices, price)
			total += price * int64(q[i])
			i++
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE products AS p SET stock = p.stock - t.quantity
			FROM (SELECT unnest($1::bigint[]) AS product_id, unnest($2::integer[]) AS quantity) AS t
			WHERE p.product_id = t.product_id`, ids, q); err != nil {
			return err
		}
		// The order row back in full, its status a parameter, as shopdb's
		// OrderCreate (RETURNING *) does: the same statement, the same scan.
		var o rawOrder
		if err := tx.QueryRow(ctx, `INSERT INTO orders (user_id, status, total_cents) VALUES ($1::bigint, $2::order_status, $3::bigint)
			RETURNING order_id, user_id, status, total_cents, created_at`,
			userID, "pending", total).Scan(&o.ID, &o.UserID, &o.Status, &o.Total, &o.Created); err != nil {
			return err
		}
		b := &pgx.Batch{}
		for i, id := range ids {
			b.Queue(`INSERT INTO order_items (order_id, product_id, quantity, unit_price_cents) VALUES ($1::bigint, $2::bigint, $3::integer, $4::bigint)`, o.ID, id, q[i], prices[i])
		}
		return tx.SendBatch(ctx, b).Close()
	})
}
