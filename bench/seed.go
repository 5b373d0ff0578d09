package main

import (
	"context"
	"fmt"

	"github.com/shopdb/shopdb/pgkit"
)

// seedSize is how much shop data to make.
type seedSize struct {
	users    int // each with 10 orders
	products int // each with 10 reviews
}

// seed fills an empty, migrated database on the server side
// (generate_series), so that setting up is quick whatever the client.
func seed(ctx context.Context, d *pgkit.DB, s seedSize) error {
	if s.users < 10 {
		return fmt.Errorf("seed: need at least 10 users for 10 distinct reviewers per product, got %d", s.users)
	}
	steps := []struct {
		what string
		sql  string
		args []any
	}{
		{"users", `INSERT INTO users (first_name, last_name, email)
			SELECT 'First' || g, 'Last' || g, 'user' || g || '@example.com' FROM generate_series(1, $1::int) g`, []any{s.users}},
		{"products", `INSERT INTO products (sku, name, description, price_cents, stock)
			SELECT 'SKU-' || g, 'Product ' || g, 'Description of product ' || g, 100 + g % 10000, 1000000
			FROM generate_series(1, $1::int) g`, []any{s.products}},
		{"reviews", `INSERT INTO reviews (product_id, user_id, rating, body, created_at)
			SELECT p, ((p * 10 + r) % $2::int) + 1, 1 + (p + r) % 5, 'Review ' || r || ' of product ' || p,
				now() - make_interval(mins => r)
			FROM generate_series(1, $1::int) p, generate_series(1, 10) r`, []any{s.products, s.users}},
		{"orders", `INSERT INTO orders (user_id, status, total_cents, created_at)
			SELECT u, 'paid', 1000 + o, now() - make_interval(hours => o)
			FROM generate_series(1, $1::int) u, generate_series(1, 10) o`, []any{s.users}},
		// Vacuum now, so that autovacuum has nothing to do on the seeded
		// tables during the measurements.
		{"vacuum", `VACUUM (ANALYZE)`, nil},
	}
	for _, st := range steps {
		if _, err := d.Exec(ctx, st.sql, st.args...); err != nil {
			return fmt.Errorf("seed %s: %w", st.what, err)
		}
	}
	return nil
}
