package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/pgkit"
)

// Parents of generated rows: orders go to up to maxCustomers users,
// reviews to reviewedProducts products, each reviewer reviewing them all.
const (
	maxCustomers     = 1000
	reviewedProducts = 100
)

// generator returns what writes the header and n demo records of the
// table named name, after picking, or creating, the rows of the database
// they point to, saying which on log: the orders' users, the reviews'
// products and users. Records that start before line from are written as
// blank lines, which the load skips but counts, so that a load resumed
// with -from-line meets the same lines, and its parents are only those of
// the records it loads.
func generator(ctx context.Context, pool *pgkit.DB, name string, n, from int, log io.Writer) (func(io.Writer) error, error) {
	first := max(0, from-2) // the first record written (line first+2)
	var columns []string
	var record func(i int, rec []string)
	switch name {
	case "users":
		columns, record = usersTable().columns, generateUser
	case "products":
		columns, record = productsTable().columns, generateProduct
	case "orders":
		users, err := customers(ctx, pool, min(max(n-first, 1), maxCustomers), log)
		if err != nil {
			return nil, err
		}
		columns = ordersTable().columns
		record = func(i int, rec []string) {
			rec[0], rec[1], rec[2], rec[3] = strconv.FormatInt(users[i%len(users)], 10), "paid", strconv.Itoa(100+i%100000), ""
		}
	case "reviews":
		products, users, err := reviewers(ctx, pool, n-first, log)
		if err != nil {
			return nil, err
		}
		columns = reviewsTable().columns
		record = func(i int, rec []string) {
			k := i - first // users have no reviews yet: every pair is new
			rec[0], rec[1] = strconv.FormatInt(products[k%len(products)], 10), strconv.FormatInt(users[k/len(products)], 10)
			rec[2], rec[3] = strconv.Itoa(1+i%5), "Generated review"
		}
	default:
		return nil, fmt.Errorf("unknown table %q: want one of %s", name, tableNames())
	}
	return func(w io.Writer) error {
		bw := bufio.NewWriter(w)
		cw := csv.NewWriter(bw)
		if err := cw.Write(columns); err != nil {
			return err
		}
		cw.Flush()
		for range min(first, n) {
			if err := bw.WriteByte('\n'); err != nil {
				return err
			}
		}
		rec := make([]string, len(columns))
		for i := first; i < n; i++ {
			record(i, rec)
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
		return bw.Flush()
	}, nil
}

func generateUser(i int, rec []string) {
	rec[0], rec[1], rec[2] = "First"+strconv.Itoa(i), "Last"+strconv.Itoa(i), "user"+strconv.Itoa(i)+"@example.com"
}

func generateProduct(i int, rec []string) {
	rec[0], rec[1], rec[2], rec[3], rec[4] = "GEN-"+strconv.Itoa(i), "Product "+strconv.Itoa(i), "", strconv.Itoa(100+i%10000), strconv.Itoa(i%500)
}

// customers returns the ids of the users generated orders go to: the
// first want users there are, or, when there are none, want new ones.
func customers(ctx context.Context, pool *pgkit.DB, want int, log io.Writer) ([]int64, error) {
	ids, err := ids(ctx, pool, "SELECT user_id FROM users ORDER BY user_id LIMIT $1", want)
	if err != nil {
		return nil, fmt.Errorf("pick users for the orders: %w", err)
	}
	if len(ids) > 0 {
		fmt.Fprintf(log, "bulkload: the generated orders go to %d existing users\n", len(ids))
		return ids, nil
	}
	if ids, err = createUsers(ctx, pool, want); err != nil {
		return nil, fmt.Errorf("create users for the orders: %w", err)
	}
	fmt.Fprintf(log, "bulkload: no users to place the generated orders: created %d\n", len(ids))
	return ids, nil
}

// reviewers returns the products and users of n generated reviews: the
// first reviewedProducts products (created when there are none), and
// n/len(products) users (rounded up) who have reviewed nothing yet, picked
// or, as many as are missing, created; each reviews every product once.
func reviewers(ctx context.Context, pool *pgkit.DB, n int, log io.Writer) (products, users []int64, err error) {
	products, err = ids(ctx, pool, "SELECT product_id FROM products ORDER BY product_id LIMIT $1", reviewedProducts)
	if err != nil {
		return nil, nil, fmt.Errorf("pick products for the reviews: %w", err)
	}
	if len(products) == 0 {
		products, err = ids(ctx, pool, `INSERT INTO products (sku, name, price_cents, stock)
			SELECT 'GEN-REVIEWED-' || g, 'Reviewed product ' || g, 100 * g, 100 FROM generate_series(1, $1::int) g
			RETURNING product_id`, reviewedProducts)
		if err != nil {
			return nil, nil, fmt.Errorf("create products for the reviews: %w", err)
		}
		fmt.Fprintf(log, "bulkload: no products to review: created %d\n", len(products))
	}
	need := (max(n, 0) + len(products) - 1) / len(products)
	users, err = ids(ctx, pool, `SELECT user_id FROM users u
		WHERE NOT EXISTS (SELECT 1 FROM reviews r WHERE r.user_id = u.user_id)
		ORDER BY user_id LIMIT $1`, need)
	if err != nil {
		return nil, nil, fmt.Errorf("pick users for the reviews: %w", err)
	}
	picked := len(users)
	if picked < need {
		more, err := createUsers(ctx, pool, need-picked)
		if err != nil {
			return nil, nil, fmt.Errorf("create users for the reviews: %w", err)
		}
		users = append(users, more...)
	}
	fmt.Fprintf(log, "bulkload: the generated reviews are of %d products, by %d users who had reviewed nothing (%d created)\n", len(products), len(users), len(users)-picked)
	return products, users, nil
}

// createUsers inserts n users without e-mail addresses (so that they
// collide with none) and returns their ids.
func createUsers(ctx context.Context, pool *pgkit.DB, n int) ([]int64, error) {
	return ids(ctx, pool, `INSERT INTO users (first_name, last_name)
		SELECT 'Generated', 'Customer ' || g FROM generate_series(1, $1::int) g
		RETURNING user_id`, n)
}

// ids runs sql, whose one argument is n, and returns its one bigint column.
func ids(ctx context.Context, pool *pgkit.DB, sql string, n int) ([]int64, error) {
	rows, err := pool.Query(ctx, sql, n)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}
