package overrides_test

import (
	"embed"
	"math/big"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shopdb/shopdb/pgkit/internal/corpus/conform"
	ct "github.com/shopdb/shopdb/pgkit/internal/corpus/corpustypes"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/overrides"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

//go:embed migrations/*.sql
var migrations embed.FS

func TestMain(m *testing.M) { os.Exit(pgkittest.Run(m)) }

func TestConformance(t *testing.T) {
	p := conform.Package{Migrations: conform.Migrations(migrations), Queries: (*overrides.Queries)(nil), Batch: (*overrides.Batch)(nil), Decoders: overrides.Decoders()}
	t0 := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	gone := t0.Add(48 * time.Hour)
	ids := []uuid.UUID{
		uuid.MustParse("00000000-0000-4000-8000-000000000001"),
		uuid.MustParse("00000000-0000-4000-8000-000000000002"),
		uuid.MustParse("00000000-0000-4000-8000-000000000003"),
	}
	conform.Run(t, p, overrides.New, func() []conform.Step[*overrides.Queries] {
		var ada, bob, cy overrides.Customer
		return []conform.Step[*overrides.Queries]{
			{Name: "create", Run: func(c *conform.C, q *overrides.Queries) error {
				var err error
				ada, err = q.CreateCustomer(c.Ctx, overrides.CreateCustomerParams{
					ID: ids[0], Email: "ada@example.com", CreatedAt: t0,
					Visits: pgtype.Int8{Int64: 7, Valid: true}, Balance: ct.Money{Cents: 1250},
				})
				conform.NoErr(c, "CreateCustomer", err)
				conform.Equal(c, "Ada's id", ada.ID, ids[0])
				conform.Equal(c, "Ada's email", ada.Email, ct.Email("ada@example.com"))
				conform.Equal(c, "Ada's created_at", ada.CreatedAt.Equal(t0), true)
				conform.Equal(c, "Ada's deleted_at (NULL)", ada.DeletedAt, (*time.Time)(nil))
				conform.Equal(c, "Ada's referred_by (NULL)", ada.ReferredBy, uuid.NullUUID{})
				conform.Equal(c, "Ada's visits", ada.Visits, pgtype.Int8{Int64: 7, Valid: true})
				conform.Equal(c, "Ada's balance", ada.Balance, ct.Money{Cents: 1250})
				bob, err = q.CreateCustomer(c.Ctx, overrides.CreateCustomerParams{
					ID: ids[1], Email: "bob@example.com", CreatedAt: t0.Add(time.Hour), DeletedAt: &gone,
					ReferredBy: uuid.NullUUID{UUID: ada.ID, Valid: true}, Balance: ct.Money{Cents: -5},
				})
				conform.NoErr(c, "CreateCustomer", err)
				conform.Equal(c, "Bob's deleted_at", bob.DeletedAt != nil && bob.DeletedAt.Equal(gone), true)
				conform.Equal(c, "Bob's referred_by", bob.ReferredBy, uuid.NullUUID{UUID: ada.ID, Valid: true})
				conform.Equal(c, "Bob's visits (NULL)", bob.Visits, pgtype.Int8{})
				cy, err = q.CreateCustomer(c.Ctx, overrides.CreateCustomerParams{
					ID: ids[2], Email: "cy@example.com", CreatedAt: t0.Add(2 * time.Hour),
					ReferredBy: uuid.NullUUID{UUID: ada.ID, Valid: true},
				})
				conform.NoErr(c, "CreateCustomer", err)
				for _, p := range []struct {
					name  string
					price overrides.Cents
					tax   string
				}{{"pen", 150, "0.2"}, {"book", 1999, "0.055"}, {"sample", 0, "0"}} {
					var tax pgtype.Numeric
					conform.NoErr(c, "tax rate", tax.Scan(p.tax))
					got, err := q.CreateProduct(c.Ctx, overrides.CreateProductParams{CustomerID: ada.ID, Name: p.name, PriceCents: p.price, TaxRate: tax})
					conform.NoErr(c, "CreateProduct", err)
					conform.Equal(c, "price_cents", got.PriceCents, p.price)
					f, err := got.TaxRate.Float64Value()
					conform.NoErr(c, "tax rate as float", err)
					want, _ := tax.Float64Value()
					conform.Equal(c, "tax_rate", f, want)
				}
				return nil
			}},
			{Name: "unique", Run: func(c *conform.C, q *overrides.Queries) error {
				_, err := q.CreateCustomer(c.Ctx, overrides.CreateCustomerParams{ID: uuid.New(), Email: "ada@example.com", CreatedAt: t0})
				conform.WantConstraint(c, err, "CreateCustomer", pgerr.ConstraintUnique, "customers_email_key")
				return err
			}},
			{Name: "foreign key on a uuid.NullUUID", Run: func(c *conform.C, q *overrides.Queries) error {
				_, err := q.CreateCustomer(c.Ctx, overrides.CreateCustomerParams{
					ID: uuid.New(), Email: "orphan@example.com", CreatedAt: t0,
					ReferredBy: uuid.NullUUID{UUID: uuid.New(), Valid: true},
				})
				conform.WantConstraint(c, err, "CreateCustomer", pgerr.ConstraintForeignKey, "customers_referred_by_fkey")
				return err
			}},
			{Name: "check on Cents", Run: func(c *conform.C, q *overrides.Queries) error {
				zero := pgtype.Numeric{Int: big.NewInt(0), Valid: true}
				_, err := q.CreateProduct(c.Ctx, overrides.CreateProductParams{CustomerID: ada.ID, Name: "refund", PriceCents: -1, TaxRate: zero})
				conform.WantConstraint(c, err, "CreateProduct", pgerr.ConstraintCheck, "products_price_cents_check")
				return err
			}},
			{Name: "not null from an invalid pgtype.Numeric", Run: func(c *conform.C, q *overrides.Queries) error {
				_, err := q.CreateProduct(c.Ctx, overrides.CreateProductParams{CustomerID: ada.ID, Name: "untaxed", PriceCents: 1})
				conform.WantConstraint(c, err, "CreateProduct", pgerr.ConstraintNotNull, "tax_rate")
				return err
			}},
			{Name: "not found", Read: true, Run: func(c *conform.C, q *overrides.Queries) error {
				_, err := q.GetCustomer(c.Ctx, uuid.Nil)
				conform.WantNotFound(c, err, "GetCustomer")
				return nil
			}},
			{Name: "get", Read: true, Run: func(c *conform.C, q *overrides.Queries) error {
				got, err := q.GetCustomer(c.Ctx, bob.ID)
				conform.NoErr(c, "GetCustomer", err)
				conform.Equal(c, "GetCustomer", got, bob)
				return nil
			}},
			{Name: "uuid and time.Time parameters", Read: true, Run: func(c *conform.C, q *overrides.Queries) error {
				got := conform.Many[overrides.Customer](c, q, "ListCustomersCreatedSince", c.Ctx, t0, bob.ID)
				conform.Equal(c, "ListCustomersCreatedSince", got, []overrides.Customer{ada, cy})
				got = conform.Many[overrides.Customer](c, q, "ListCustomersCreatedSince", c.Ctx, t0.Add(time.Hour), uuid.Nil)
				conform.Equal(c, "ListCustomersCreatedSince an hour later", got, []overrides.Customer{bob, cy})
				none := conform.Many[overrides.Customer](c, q, "ListCustomersCreatedSince", c.Ctx, t0.Add(24*time.Hour), uuid.Nil)
				conform.Equal(c, "ListCustomersCreatedSince a day later", len(none), 0)
				return nil
			}},
			{Name: "uuid.UUID rows of a uuid.NullUUID parameter", Read: true, Run: func(c *conform.C, q *overrides.Queries) error {
				got := conform.Many[uuid.UUID](c, q, "ListReferrals", c.Ctx, uuid.NullUUID{UUID: ada.ID, Valid: true})
				conform.Equal(c, "ListReferrals", got, []uuid.UUID{bob.ID, cy.ID})
				none := conform.Many[uuid.UUID](c, q, "ListReferrals", c.Ctx, uuid.NullUUID{})
				conform.Equal(c, "ListReferrals of NULL", len(none), 0)
				return nil
			}},
			{Name: "ct.Money rows of a ct.Email parameter", Read: true, Run: func(c *conform.C, q *overrides.Queries) error {
				got := conform.Many[ct.Money](c, q, "ListBalancesAfter", c.Ctx, ct.Email("b"))
				conform.Equal(c, "ListBalancesAfter", got, []ct.Money{{Cents: -5}, {Cents: 0}})
				none := conform.Many[ct.Money](c, q, "ListBalancesAfter", c.Ctx, ct.Email("z"))
				conform.Equal(c, "ListBalancesAfter z", len(none), 0)
				return nil
			}},
			{Name: "*time.Time rows", Read: true, Run: func(c *conform.C, q *overrides.Queries) error {
				got := conform.Many[*time.Time](c, q, "ListDeletedAt", c.Ctx, t0.Add(90*time.Minute))
				if len(got) != 2 || got[0] != nil || got[1] == nil || !got[1].Equal(gone) {
					c.Errorf("ListDeletedAt (%s): %v, want [nil %v]", c.Mode, got, gone)
				}
				none := conform.Many[*time.Time](c, q, "ListDeletedAt", c.Ctx, t0)
				conform.Equal(c, "ListDeletedAt before the first", len(none), 0)
				return nil
			}},
			{Name: "Cents rows of Cents and uuid parameters", Read: true, Run: func(c *conform.C, q *overrides.Queries) error {
				got := conform.Many[overrides.Cents](c, q, "ListPrices", c.Ctx, ada.ID, overrides.Cents(100))
				conform.Equal(c, "ListPrices", got, []overrides.Cents{150, 1999})
				none := conform.Many[overrides.Cents](c, q, "ListPrices", c.Ctx, bob.ID, overrides.Cents(0))
				conform.Equal(c, "ListPrices of a customer without products", len(none), 0)
				return nil
			}},
			{Name: "execrows with *time.Time", Run: func(c *conform.C, q *overrides.Queries) error {
				n, err := q.SoftDeleteCustomer(c.Ctx, &gone, ada.ID)
				conform.NoErr(c, "SoftDeleteCustomer", err)
				conform.Equal(c, "rows soft-deleted", n, int64(1))
				n, err = q.SoftDeleteCustomer(c.Ctx, &gone, bob.ID)
				conform.NoErr(c, "SoftDeleteCustomer of a deleted customer", err)
				conform.Equal(c, "rows soft-deleted again", n, int64(0))
				got, err := q.GetCustomer(c.Ctx, ada.ID)
				conform.NoErr(c, "GetCustomer", err)
				conform.Equal(c, "deleted_at after SoftDeleteCustomer", got.DeletedAt != nil && got.DeletedAt.Equal(gone), true)
				return nil
			}},
		}
	})
}
