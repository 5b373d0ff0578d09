package overrides_test

import (
	"context"
	"math"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/conform"
	ct "github.com/shopdb/shopdb/pgkit/internal/corpus/corpustypes"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/overrides"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// TestCopySameRowsEveryWay: rows of the overridden types (google/uuid and
// its NullUUID, time.Time and *time.Time nil, zero and extreme, pgtype.Int8,
// a named string and a driver.Valuer of another package, the package's
// Cents, which the typed source hands pgx as its int64, and numeric)
// stored through the typed source and through pgx with the rows' own
// values are identical.
func TestCopySameRowsEveryWay(t *testing.T) {
	t.Parallel()
	ids := []uuid.UUID{uuid.MustParse("00000000-0000-0000-0000-000000000001"), uuid.MustParse("ffffffff-ffff-ffff-ffff-ffffffffffff"), uuid.MustParse("12345678-9abc-def0-1234-56789abcdef0")}
	zero, far := time.Time{}, time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
	customers := []overrides.CopyCustomersParams{
		{ID: ids[0], Email: "a@x", CreatedAt: time.Date(2024, 2, 29, 12, 0, 0, 1000, time.FixedZone("", 3600)), Balance: ct.Money{Cents: math.MinInt64}},
		{ID: ids[1], Email: "", CreatedAt: zero, DeletedAt: &zero, ReferredBy: uuid.NullUUID{UUID: ids[0], Valid: true}, Visits: pgtype.Int8{Int64: math.MaxInt64, Valid: true}, Balance: ct.Money{Cents: math.MaxInt64}},
		{ID: ids[2], Email: "é'\"\\", CreatedAt: far, DeletedAt: &far, Visits: pgtype.Int8{Valid: true}},
	}
	products := []overrides.CopyProductsParams{
		{CustomerID: ids[0], Name: "free", PriceCents: 0, TaxRate: pgtype.Numeric{Int: big.NewInt(0), Valid: true}},
		{CustomerID: ids[1], Name: "dear", PriceCents: math.MaxInt64, TaxRate: pgtype.Numeric{Int: big.NewInt(-123456789), Exp: -40, Valid: true}},
	}
	url := pgkittest.URL(t, conform.Migrations(migrations))
	open := func(cfg pgkit.Config) *pgkit.DB {
		d, err := pgkit.Open(t.Context(), url, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(d.Close)
		return d
	}
	db := open(pgkit.Config{MaxConns: 4})
	muxed := open(pgkit.Config{MaxConns: 3, Multiplex: true})
	both := func(ctx context.Context, q *overrides.Queries) (int64, error) {
		n, err := q.CopyCustomers(ctx, customers)
		if err != nil {
			return n, err
		}
		m, err := q.CopyProducts(ctx, products)
		return n + m, err
	}
	conform.SameCopies(t, db, `TRUNCATE products, customers RESTART IDENTITY`,
		`SELECT x FROM (SELECT 1, row(c.*)::text, email FROM customers c UNION ALL SELECT 2, row(p.*)::text, name FROM products p) t(k, x, o) ORDER BY k, o`,
		int64(len(customers)+len(products)),
		conform.Load{Name: "pgx.CopyFromSlice of the rows' values on raw pgx", Run: func(ctx context.Context, db *pgkit.DB) (int64, error) {
			n, err := db.Pool().CopyFrom(ctx, pgx.Identifier{"customers"}, []string{"id", "email", "created_at", "deleted_at", "referred_by", "visits", "balance"},
				pgx.CopyFromSlice(len(customers), func(i int) ([]any, error) {
					c := customers[i]
					return []any{c.ID, c.Email, c.CreatedAt, c.DeletedAt, c.ReferredBy, c.Visits, c.Balance}, nil
				}))
			if err != nil {
				return n, err
			}
			m, err := db.Pool().CopyFrom(ctx, pgx.Identifier{"products"}, []string{"customer_id", "name", "price_cents", "tax_rate"},
				pgx.CopyFromSlice(len(products), func(i int) ([]any, error) {
					p := products[i]
					return []any{p.CustomerID, p.Name, p.PriceCents, p.TaxRate}, nil
				}))
			return n + m, err
		}},
		conform.Load{Name: "sqlc's iterators on raw pgx", Run: func(ctx context.Context, db *pgkit.DB) (int64, error) {
			return both(ctx, overrides.New(db.Pool()))
		}},
		conform.Load{Name: "through pgkit (the typed sources)", Run: func(ctx context.Context, db *pgkit.DB) (int64, error) {
			return both(ctx, overrides.New(db))
		}},
		conform.Load{Name: "multiplexed", Run: func(ctx context.Context, _ *pgkit.DB) (int64, error) {
			return both(ctx, overrides.New(muxed))
		}},
		conform.Load{Name: "in a transaction", Run: func(ctx context.Context, db *pgkit.DB) (n int64, err error) {
			err = pgkit.WithTx(ctx, db, overrides.New, func(q *overrides.Queries) error {
				n, err = both(ctx, q)
				return err
			})
			return n, err
		}},
		conform.Load{Name: "the Seqs on raw pgx", Run: func(ctx context.Context, db *pgkit.DB) (int64, error) {
			q := overrides.New(db.Pool())
			n, err := q.CopyCustomersSeq(ctx, slices.Values(customers))
			if err != nil {
				return n, err
			}
			m, err := q.CopyProductsSeq(ctx, slices.Values(products))
			return n + m, err
		}},
	)
}
