package filenames_test

import (
	"embed"
	"os"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shopdb/shopdb/pgkit/internal/corpus/conform"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/filenames"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

//go:embed migrations/*.sql
var migrations embed.FS

func TestMain(m *testing.M) { os.Exit(pgkittest.Run(m)) }

// TestFileNames: sqlc wrote every file under the name sqlc.yaml gives it,
// and none under its default name.
func TestFileNames(t *testing.T) {
	for _, name := range []string{"dbtx.go", "entities.go", "querier_iface.go", "bulk_copy.go", "batches.go", "items.sql_gen.go", "loads.sql_gen.go", "pgkitgen.go"} {
		if _, err := os.Stat(name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, name := range []string{"db.go", "models.go", "querier.go", "copyfrom.go", "batch.go", "items.sql.go", "loads.sql.go"} {
		if _, err := os.Stat(name); err == nil {
			t.Errorf("%s exists: sqlc ignored an output file name option", name)
		}
	}
}

func text(s string) pgtype.Text { return pgtype.Text{String: s, Valid: true} }

func TestConformance(t *testing.T) {
	p := conform.Package{Migrations: conform.Migrations(migrations), Queries: (*filenames.Queries)(nil), Batch: (*filenames.Batch)(nil), Decoders: filenames.Decoders()}
	conform.Run(t, p, filenames.New, func() []conform.Step[*filenames.Queries] {
		var a, b filenames.Item
		return []conform.Step[*filenames.Queries]{
			{Name: "create", Run: func(c *conform.C, q *filenames.Queries) error {
				var err error
				a, err = q.CreateItem(c.Ctx, filenames.CreateItemParams{Sku: "a-1", Name: "anvil"})
				conform.NoErr(c, "CreateItem", err)
				b, err = q.CreateItem(c.Ctx, filenames.CreateItemParams{Sku: "b-2", Name: "bucket"})
				conform.NoErr(c, "CreateItem", err)
				return nil
			}},
			{Name: "unique", Run: func(c *conform.C, q *filenames.Queries) error {
				_, err := q.CreateItem(c.Ctx, filenames.CreateItemParams{Sku: "a-1", Name: "another anvil"})
				conform.WantConstraint(c, err, "CreateItem", pgerr.ConstraintUnique, "items_sku_key")
				return err
			}},
			{Name: "copyfrom", Direct: true, Run: func(c *conform.C, q *filenames.Queries) error {
				n, err := q.CopyLoads(c.Ctx, []filenames.CopyLoadsParams{{ItemID: a.ID, Qty: 4, Note: text("first")}, {ItemID: a.ID, Qty: 2}})
				conform.NoErr(c, "CopyLoads", err)
				conform.Equal(c, "rows copied", n, int64(2))
				n, err = q.CopyLoadsSeq(c.Ctx, func(yield func(filenames.CopyLoadsParams) bool) {
					for qty := int32(1); qty <= 3; qty++ {
						if !yield(filenames.CopyLoadsParams{ItemID: b.ID, Qty: qty * 10}) {
							return
						}
					}
				})
				conform.NoErr(c, "CopyLoadsSeq", err)
				conform.Equal(c, "rows copied from the sequence", n, int64(3))
				return nil
			}},
			{Name: "copyfrom foreign key", Direct: true, Run: func(c *conform.C, q *filenames.Queries) error {
				_, err := q.CopyLoads(c.Ctx, []filenames.CopyLoadsParams{{ItemID: a.ID, Qty: 1}, {ItemID: -1, Qty: 1}})
				conform.WantConstraint(c, err, "", pgerr.ConstraintForeignKey, "loads_item_id_fkey") // COPY carries no query name
				return err
			}},
			{Name: "batchexec", Direct: true, Run: func(c *conform.C, q *filenames.Queries) error {
				var errs []error
				q.SetQty(c.Ctx, []filenames.SetQtyParams{{Sku: "a-1", Qty: 5}, {Sku: "b-2", Qty: 3}, {Sku: "none", Qty: 1}}).Exec(func(_ int, err error) {
					errs = append(errs, err)
				})
				conform.Equal(c, "SetQty errors", errs, []error{nil, nil, nil})
				a.Qty, b.Qty = 5, 3
				return nil
			}},
			{Name: "batchexec check", Direct: true, Run: func(c *conform.C, q *filenames.Queries) error {
				var first error
				q.SetQty(c.Ctx, []filenames.SetQtyParams{{Sku: "a-1", Qty: -1}}).Exec(func(_ int, err error) { first = err })
				conform.WantConstraint(c, first, "SetQty", pgerr.ConstraintCheck, "items_qty_check")
				return first
			}},
			{Name: "batchone", Direct: true, Run: func(c *conform.C, q *filenames.Queries) error {
				got := map[int]filenames.Item{}
				var missing error
				q.GetItemBatch(c.Ctx, []string{"b-2", "none", "a-1"}).QueryRow(func(i int, it filenames.Item, err error) {
					if i == 1 {
						missing = err
						return
					}
					conform.NoErr(c, "GetItemBatch", err)
					got[i] = it
				})
				conform.Equal(c, "GetItemBatch", got, map[int]filenames.Item{0: b, 2: a})
				conform.WantNotFound(c, missing, "GetItemBatch")
				return nil
			}},
			{Name: "batchmany", Direct: true, Run: func(c *conform.C, q *filenames.Queries) error {
				got := map[int][]int32{}
				q.ListLoadQtysBatch(c.Ctx, []int64{a.ID, b.ID, -1}).Query(func(i int, qtys []int32, err error) {
					conform.NoErr(c, "ListLoadQtysBatch", err)
					got[i] = qtys
				})
				conform.Equal(c, "ListLoadQtysBatch", got, map[int][]int32{0: {2, 4}, 1: {10, 20, 30}, 2: nil})
				return nil
			}},
			{Name: "not found", Read: true, Run: func(c *conform.C, q *filenames.Queries) error {
				_, err := q.GetItem(c.Ctx, "none")
				conform.WantNotFound(c, err, "GetItem")
				return nil
			}},
			{Name: "list items", Read: true, Run: func(c *conform.C, q *filenames.Queries) error {
				got := conform.Many[filenames.Item](c, q, "ListItems", c.Ctx)
				conform.Equal(c, "ListItems", got, []filenames.Item{a, b})
				return nil
			}},
			{Name: "list loads", Read: true, Run: func(c *conform.C, q *filenames.Queries) error {
				got := conform.Many[filenames.Load](c, q, "ListLoads", c.Ctx, a.ID)
				type load struct {
					ItemID int64
					Qty    int32
					Note   pgtype.Text
				}
				var loads []load
				for _, l := range got {
					loads = append(loads, load{l.ItemID, l.Qty, l.Note})
				}
				conform.Equal(c, "ListLoads", loads, []load{{a.ID, 2, pgtype.Text{}}, {a.ID, 4, text("first")}})
				none := conform.Many[filenames.Load](c, q, "ListLoads", c.Ctx, int64(-1))
				conform.Equal(c, "ListLoads of no item", len(none), 0)
				return nil
			}},
		}
	})
}
