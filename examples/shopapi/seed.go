package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/pgkit"
)

// seedCounts is what seed loaded.
type seedCounts struct {
	Users, Products, Reviews, Orders int64
}

// seed loads demo data through COPY (the generated …Seq methods, streamed
// from generators): users customers, one product per ten of them with ten
// reviews each, and five orders per customer over the last year. It is
// deterministic for a given count and takes ids from what it inserted, so
// it also works on a database that already has rows.
func seed(ctx context.Context, pool *pgkit.DB, users int) (seedCounts, error) {
	var c seedCounts
	if users <= 0 {
		return c, nil
	}
	products := max(1, users/10)
	rng := rand.New(rand.NewPCG(uint64(users), 42))
	err := pgkit.WithTx(ctx, pool, db.New, func(q *db.Queries) error {
		firstUser, err := nextID(ctx, q.DB(), "users", "user_id")
		if err != nil {
			return err
		}
		firstProduct, err := nextID(ctx, q.DB(), "products", "product_id")
		if err != nil {
			return err
		}
		if c.Users, err = q.UserCreateManySeq(ctx, func(yield func(db.UserCreateManyParams) bool) {
			for i := range users {
				if !yield(db.UserCreateManyParams{FirstName: firstNames[i%len(firstNames)], LastName: fmt.Sprintf("Customer%d", i)}) {
					return
				}
			}
		}); err != nil {
			return fmt.Errorf("seed users: %w", err)
		}
		if c.Products, err = q.ProductCreateManySeq(ctx, func(yield func(db.ProductCreateManyParams) bool) {
			for i := range products {
				desc := fmt.Sprintf("A fine %s, model %d.", nouns[i%len(nouns)], i)
				if !yield(db.ProductCreateManyParams{
					Sku: fmt.Sprintf("SEED-%d-%d", firstProduct, i), Name: fmt.Sprintf("%s %s", adjectives[i%len(adjectives)], nouns[i%len(nouns)]),
					Description: &desc, PriceCents: int64(100 + rng.IntN(50_000)), Stock: int32(100 + rng.IntN(1000)),
				}) {
					return
				}
			}
		}); err != nil {
			return fmt.Errorf("seed products: %w", err)
		}
		// Ten reviews per product, by ten consecutive distinct customers.
		if c.Reviews, err = q.ReviewCreateManySeq(ctx, func(yield func(db.ReviewCreateManyParams) bool) {
			for p := range products {
				for k := range min(10, users) {
					body := reviewBodies[(p+k)%len(reviewBodies)]
					if !yield(db.ReviewCreateManyParams{
						ProductID: firstProduct + int64(p), UserID: firstUser + int64((p*10+k)%users),
						Rating: int16(1 + (p+k)%5), Body: &body,
					}) {
						return
					}
				}
			}
		}); err != nil {
			return fmt.Errorf("seed reviews: %w", err)
		}
		now := time.Now().UTC()
		statuses := db.AllOrderStatusValues()
		if c.Orders, err = q.OrderCreateManySeq(ctx, func(yield func(db.OrderCreateManyParams) bool) {
			for u := range users {
				for k := range 5 {
					if !yield(db.OrderCreateManyParams{
						UserID: firstUser + int64(u), Status: statuses[(u+k)%len(statuses)],
						TotalCents: int64(100 + rng.IntN(100_000)), CreatedAt: now.Add(-time.Duration(rng.IntN(365*24)) * time.Hour),
					}) {
						return
					}
				}
			}
		}); err != nil {
			return fmt.Errorf("seed orders: %w", err)
		}
		return nil
	})
	return c, err
}

// nextID is the id the next row of table will get: seeding locks the table
// so that the ids of what it copies are consecutive from there.
func nextID(ctx context.Context, tx pgkit.DBTX, table, column string) (int64, error) {
	if _, err := tx.Exec(ctx, "LOCK TABLE "+table+" IN EXCLUSIVE MODE"); err != nil {
		return 0, err
	}
	var next int64
	err := tx.QueryRow(ctx, fmt.Sprintf("SELECT coalesce(max(%s), 0) + 1 FROM %s", column, table)).Scan(&next)
	if err != nil {
		return 0, err
	}
	// Identity columns hand out their own values: move the sequence to
	// where the copied rows will start.
	_, err = tx.Exec(ctx, fmt.Sprintf("SELECT setval(pg_get_serial_sequence('%s', '%s'), $1, false)", table, column), next)
	return next, err
}

var (
	firstNames   = []string{"Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "John", "Margaret", "Niklaus"}
	adjectives   = []string{"Brass", "Steam", "Analytical", "Clockwork", "Difference", "Mechanical", "Electric", "Jacquard"}
	nouns        = []string{"Engine", "Loom", "Calculator", "Telegraph", "Orrery", "Abacus", "Tabulator", "Sextant"}
	reviewBodies = []string{"Works as promised.", "A little loud, but sturdy.", "Exactly what the workshop needed.", "Arrived late; fine otherwise.", "Would buy again."}
)
