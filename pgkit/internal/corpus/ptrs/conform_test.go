package ptrs_test

import (
	"embed"
	"fmt"
	"os"
	"testing"

	"github.com/shopdb/shopdb/pgkit/internal/corpus/conform"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/ptrs"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

//go:embed migrations/*.sql
var migrations embed.FS

func TestMain(m *testing.M) { os.Exit(pgkittest.Run(m)) }

// batchRow is one result of a :batchone.
type batchRow struct {
	p   *ptrs.Product
	err error
}

func TestConformance(t *testing.T) {
	p := conform.Package{Migrations: conform.Migrations(migrations), Queries: (*ptrs.Queries)(nil), Batch: (*ptrs.Batch)(nil), Decoders: ptrs.Decoders()}
	conform.Run(t, p, ptrs.New, func() []conform.Step[*ptrs.Queries] {
		var apple, bread, cheese *ptrs.Product
		inRange := func(c *conform.C, q *ptrs.Queries, lo, hi int32) []*ptrs.Product {
			return conform.Many[*ptrs.Product](c, q, "ListProductsInRange", c.Ctx, &ptrs.ListProductsInRangeParams{MinCents: lo, MaxCents: hi})
		}
		return []conform.Step[*ptrs.Queries]{
			{Name: "create", Run: func(c *conform.C, q *ptrs.Queries) error {
				var err error
				for _, p := range []struct {
					dst   **ptrs.Product
					arg   ptrs.CreateProductParams
					price int32
				}{
					{&apple, ptrs.CreateProductParams{Sku: "apple", PriceCents: 120, Stock: 10}, 120},
					{&bread, ptrs.CreateProductParams{Sku: "bread", PriceCents: 250}, 250},
					{&cheese, ptrs.CreateProductParams{Sku: "cheese", PriceCents: 900, Stock: 3}, 900},
				} {
					*p.dst, err = q.CreateProduct(c.Ctx, &p.arg)
					conform.NoErr(c, "CreateProduct", err)
					got := *p.dst
					conform.Equal(c, "CreateProduct", ptrs.Product{Sku: got.Sku, PriceCents: got.PriceCents, Stock: got.Stock}, ptrs.Product{Sku: p.arg.Sku, PriceCents: p.price, Stock: p.arg.Stock})
				}
				return nil
			}},
			{Name: "check", Run: func(c *conform.C, q *ptrs.Queries) error {
				_, err := q.CreateProduct(c.Ctx, &ptrs.CreateProductParams{Sku: "debt", PriceCents: -1})
				conform.WantConstraint(c, err, "CreateProduct", pgerr.ConstraintCheck, "products_price_cents_check")
				return err
			}},
			{Name: "not found", Read: true, Run: func(c *conform.C, q *ptrs.Queries) error {
				_, err := q.GetProduct(c.Ctx, -1)
				conform.WantNotFound(c, err, "GetProduct")
				return nil
			}},
			{Name: "get", Read: true, Run: func(c *conform.C, q *ptrs.Queries) error {
				got, err := q.GetProduct(c.Ctx, bread.ID)
				conform.NoErr(c, "GetProduct", err)
				conform.Equal(c, "GetProduct", got, bread)
				return nil
			}},
			{Name: "list", Read: true, Run: func(c *conform.C, q *ptrs.Queries) error {
				conform.Equal(c, "ListProductsInRange 100-300", inRange(c, q, 100, 300), []*ptrs.Product{apple, bread})
				conform.Equal(c, "ListProductsInRange of all", inRange(c, q, 0, 1000), []*ptrs.Product{apple, bread, cheese})
				conform.Equal(c, "ListProductsInRange of none", len(inRange(c, q, 300, 800)), 0)
				// The stream yields a pointer of its own for every row.
				var got []*ptrs.Product
				for p, err := range q.ListProductsInRangeStream(c.Ctx, &ptrs.ListProductsInRangeParams{MinCents: 0, MaxCents: 1000}) {
					conform.NoErr(c, "ListProductsInRangeStream", err)
					got = append(got, p)
				}
				if len(got) != 3 || got[0] == got[1] || got[1] == got[2] || got[0] == got[2] {
					c.Errorf("ListProductsInRangeStream (%s): %d rows, not 3 distinct pointers", c.Mode, len(got))
				}
				conform.Equal(c, "ListProductsInRangeStream's rows kept", got, []*ptrs.Product{apple, bread, cheese})
				return nil
			}},
			{Name: "single column", Read: true, Run: func(c *conform.C, q *ptrs.Queries) error {
				conform.Equal(c, "ListSkus", conform.Many[string](c, q, "ListSkus", c.Ctx), []string{"apple", "bread", "cheese"})
				return nil
			}},
			{Name: "exec", Run: func(c *conform.C, q *ptrs.Queries) error {
				conform.NoErr(c, "SetStock", q.SetStock(c.Ctx, &ptrs.SetStockParams{Sku: "bread", Stock: 7}))
				bread.Stock = 7
				got, err := q.GetProduct(c.Ctx, bread.ID)
				conform.NoErr(c, "GetProduct", err)
				conform.Equal(c, "bread after SetStock", got, bread)
				return nil
			}},
			{Name: "copyfrom", Direct: true, Run: func(c *conform.C, q *ptrs.Queries) error {
				n, err := q.CopyProducts(c.Ctx, []*ptrs.CopyProductsParams{{Sku: "k1", PriceCents: 5000, Stock: 1}, {Sku: "k0", PriceCents: 5001}})
				conform.NoErr(c, "CopyProducts", err)
				conform.Equal(c, "rows copied", n, int64(2))
				const many = 200
				n, err = q.CopyProductsSeq(c.Ctx, func(yield func(*ptrs.CopyProductsParams) bool) {
					for i := range many {
						if !yield(&ptrs.CopyProductsParams{Sku: fmt.Sprintf("s%03d", i), PriceCents: 6000 + int32(i), Stock: int32(i)}) {
							return
						}
					}
				})
				conform.NoErr(c, "CopyProductsSeq", err)
				conform.Equal(c, "rows copied from the seq", n, int64(many))
				type row struct {
					Sku               string
					PriceCents, Stock int32
				}
				var got []row
				for _, p := range inRange(c, q, 5000, 7000) {
					got = append(got, row{p.Sku, p.PriceCents, p.Stock})
				}
				want := []row{{"k0", 5001, 0}, {"k1", 5000, 1}}
				for i := range many {
					want = append(want, row{fmt.Sprintf("s%03d", i), 6000 + int32(i), int32(i)})
				}
				conform.Equal(c, "products after the COPYs", got, want)
				return nil
			}},
			{Name: "batchone", Direct: true, Run: func(c *conform.C, q *ptrs.Queries) error {
				var got []batchRow
				q.GetProductsBySku(c.Ctx, []string{"cheese", "nope", "apple"}).QueryRow(func(_ int, p *ptrs.Product, err error) {
					got = append(got, batchRow{p, err})
				})
				if len(got) != 3 {
					c.Fatalf("GetProductsBySku (%s): %d results, want 3", c.Mode, len(got))
				}
				conform.NoErr(c, "GetProductsBySku cheese", got[0].err)
				conform.Equal(c, "GetProductsBySku cheese", got[0].p, cheese)
				conform.WantNotFound(c, got[1].err, "GetProductsBySku")
				conform.NoErr(c, "GetProductsBySku apple", got[2].err)
				conform.Equal(c, "GetProductsBySku apple", got[2].p, apple)

				got = nil
				q.Reprice(c.Ctx, []*ptrs.RepriceParams{{Sku: "cheese", PriceCents: 950}}).QueryRow(func(_ int, p *ptrs.Product, err error) {
					got = append(got, batchRow{p, err})
				})
				cheese.PriceCents = 950
				conform.Equal(c, "Reprice", got, []batchRow{{cheese, nil}})
				return nil
			}},
			{Name: "batch check", Direct: true, Run: func(c *conform.C, q *ptrs.Queries) error {
				var got []batchRow
				q.Reprice(c.Ctx, []*ptrs.RepriceParams{{Sku: "apple", PriceCents: 1}, {Sku: "bread", PriceCents: -5}}).QueryRow(func(_ int, p *ptrs.Product, err error) {
					got = append(got, batchRow{p, err})
				})
				if len(got) != 2 {
					c.Fatalf("Reprice (%s): %d results, want 2", c.Mode, len(got))
				}
				conform.NoErr(c, "Reprice apple", got[0].err)
				conform.Equal(c, "Reprice apple's price", got[0].p.PriceCents, int32(1))
				conform.WantConstraint(c, got[1].err, "Reprice", pgerr.ConstraintCheck, "products_price_cents_check")
				return got[1].err
			}},
			{Name: "after the failed batch", Read: true, Run: func(c *conform.C, q *ptrs.Queries) error {
				conform.Equal(c, "products after the failed Reprice", inRange(c, q, 0, 1000), []*ptrs.Product{apple, bread, cheese})
				return nil
			}},
		}
	})
}
