package plain_test

import (
	"embed"
	"os"
	"reflect"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shopdb/shopdb/pgkit/internal/corpus/conform"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/plain"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

//go:embed migrations/*.sql
var migrations embed.FS

func TestMain(m *testing.M) { os.Exit(pgkittest.Run(m)) }

// TestNoQuerier: emit_interface is off, so sqlc declares no Querier and
// pgkitgen's Store lists the methods itself.
func TestNoQuerier(t *testing.T) {
	var _ plain.Store = plain.New(nil)
	store := reflect.TypeFor[plain.Store]()
	for _, m := range []string{"CreateItem", "GetItem", "ListItems", "SetQty", "CopyItems", "ListItemsStream", "RunInTx"} {
		if _, ok := store.MethodByName(m); !ok {
			t.Errorf("Store has no %s", m)
		}
	}
}

func text(s string) pgtype.Text { return pgtype.Text{String: s, Valid: true} }

func TestConformance(t *testing.T) {
	p := conform.Package{Migrations: conform.Migrations(migrations), Queries: (*plain.Queries)(nil), Batch: (*plain.Batch)(nil), Decoders: plain.Decoders()}
	conform.Run(t, p, plain.New, func() []conform.Step[*plain.Queries] {
		var acme, globex, initech plain.Supplier
		var a1, b2, g1 plain.InventoryItem
		return []conform.Step[*plain.Queries]{
			{Name: "create", Run: func(c *conform.C, q *plain.Queries) error {
				var err error
				for _, s := range []struct {
					p    *plain.Supplier
					name string
				}{{&acme, "Acme"}, {&globex, "Globex"}, {&initech, "Initech"}} {
					*s.p, err = q.CreateSupplier(c.Ctx, s.name)
					conform.NoErr(c, "CreateSupplier", err)
				}
				b2, err = q.CreateItem(c.Ctx, plain.CreateItemParams{SupplierID: acme.ID, Sku: "b-2", Qty: 5, Note: text("fragile")})
				conform.NoErr(c, "CreateItem", err)
				a1, err = q.CreateItem(c.Ctx, plain.CreateItemParams{SupplierID: acme.ID, Sku: "a-1"})
				conform.NoErr(c, "CreateItem", err)
				g1, err = q.CreateItem(c.Ctx, plain.CreateItemParams{SupplierID: globex.ID, Sku: "g-1", Qty: 1})
				conform.NoErr(c, "CreateItem", err)
				conform.Equal(c, "a-1", a1, plain.InventoryItem{ID: a1.ID, SupplierID: acme.ID, Sku: "a-1", Status: plain.InventoryStatusActive})
				return nil
			}},
			{Name: "foreign key across schemas", Run: func(c *conform.C, q *plain.Queries) error {
				_, err := q.CreateItem(c.Ctx, plain.CreateItemParams{SupplierID: -1, Sku: "orphan"})
				conform.WantConstraint(c, err, "CreateItem", pgerr.ConstraintForeignKey, "items_supplier_id_fkey")
				return err
			}},
			{Name: "not found", Read: true, Run: func(c *conform.C, q *plain.Queries) error {
				_, err := q.GetItem(c.Ctx, -1)
				conform.WantNotFound(c, err, "GetItem")
				return nil
			}},
			{Name: "get", Read: true, Run: func(c *conform.C, q *plain.Queries) error {
				got, err := q.GetItem(c.Ctx, b2.ID)
				conform.NoErr(c, "GetItem", err)
				conform.Equal(c, "GetItem", got, b2)
				return nil
			}},
			{Name: "list", Read: true, Run: func(c *conform.C, q *plain.Queries) error {
				got := conform.Many[plain.InventoryItem](c, q, "ListItems", c.Ctx, acme.ID)
				conform.Equal(c, "ListItems", got, []plain.InventoryItem{a1, b2})
				none := conform.Many[plain.InventoryItem](c, q, "ListItems", c.Ctx, initech.ID)
				conform.Equal(c, "ListItems of a supplier without items", len(none), 0)
				return nil
			}},
			{Name: "join across schemas", Read: true, Run: func(c *conform.C, q *plain.Queries) error {
				got := conform.Many[plain.ListItemsWithSupplierRow](c, q, "ListItemsWithSupplier", c.Ctx, plain.InventoryStatusActive)
				conform.Equal(c, "ListItemsWithSupplier", got, []plain.ListItemsWithSupplierRow{
					{Sku: "a-1", Status: plain.InventoryStatusActive, Supplier: "Acme"},
					{Sku: "b-2", Status: plain.InventoryStatusActive, Supplier: "Acme"},
					{Sku: "g-1", Status: plain.InventoryStatusActive, Supplier: "Globex"},
				})
				none := conform.Many[plain.ListItemsWithSupplierRow](c, q, "ListItemsWithSupplier", c.Ctx, plain.InventoryStatusRetired)
				conform.Equal(c, "ListItemsWithSupplier of retired items", len(none), 0)
				return nil
			}},
			{Name: "zero columns", Read: true, Run: func(c *conform.C, q *plain.Queries) error {
				got := conform.Many[plain.ListNothingRow](c, q, "ListNothing", c.Ctx)
				conform.Equal(c, "ListNothing", got, []plain.ListNothingRow{{}, {}, {}})
				return nil
			}},
			{Name: "exec", Run: func(c *conform.C, q *plain.Queries) error {
				conform.NoErr(c, "SetQty", q.SetQty(c.Ctx, plain.SetQtyParams{ID: a1.ID, Qty: 42}))
				got, err := q.GetItem(c.Ctx, a1.ID)
				conform.NoErr(c, "GetItem", err)
				conform.Equal(c, "qty after SetQty", got.Qty, int32(42))
				conform.NoErr(c, "RetireItem", q.RetireItem(c.Ctx, g1.ID))
				retired := conform.Many[plain.ListItemsWithSupplierRow](c, q, "ListItemsWithSupplier", c.Ctx, plain.InventoryStatusRetired)
				conform.Equal(c, "ListItemsWithSupplier of retired items", retired, []plain.ListItemsWithSupplierRow{{Sku: "g-1", Status: plain.InventoryStatusRetired, Supplier: "Globex"}})
				return nil
			}},
			{Name: "copyfrom", Direct: true, Run: func(c *conform.C, q *plain.Queries) error {
				n, err := q.CopyItems(c.Ctx, []plain.CopyItemsParams{
					{SupplierID: initech.ID, Sku: "i-2", Qty: 2, Status: plain.InventoryStatusActive, Note: text("copied")},
					{SupplierID: initech.ID, Sku: "i-1", Qty: 1, Status: plain.InventoryStatusRetired},
				})
				conform.NoErr(c, "CopyItems", err)
				conform.Equal(c, "rows CopyItems copied", n, int64(2))
				n, err = q.CopyItemsSeq(c.Ctx, func(yield func(plain.CopyItemsParams) bool) {
					for _, sku := range []string{"i-5", "i-3", "i-4"} {
						if !yield(plain.CopyItemsParams{SupplierID: initech.ID, Sku: sku, Qty: 3, Status: plain.InventoryStatusActive}) {
							return
						}
					}
				})
				conform.NoErr(c, "CopyItemsSeq", err)
				conform.Equal(c, "rows CopyItemsSeq copied", n, int64(3))
				got := conform.Many[plain.InventoryItem](c, q, "ListItems", c.Ctx, initech.ID)
				var skus []string
				for _, it := range got {
					skus = append(skus, it.Sku)
				}
				conform.Equal(c, "skus copied", skus, []string{"i-1", "i-2", "i-3", "i-4", "i-5"})
				if len(got) == 5 {
					conform.Equal(c, "i-1 copied", got[0], plain.InventoryItem{ID: got[0].ID, SupplierID: initech.ID, Sku: "i-1", Qty: 1, Status: plain.InventoryStatusRetired})
					conform.Equal(c, "i-2 copied", got[1], plain.InventoryItem{ID: got[1].ID, SupplierID: initech.ID, Sku: "i-2", Qty: 2, Status: plain.InventoryStatusActive, Note: text("copied")})
				}
				nothing := conform.Many[plain.ListNothingRow](c, q, "ListNothing", c.Ctx)
				conform.Equal(c, "ListNothing after the copies", len(nothing), 8)
				return nil
			}},
			{Name: "copyfrom foreign key", Direct: true, Run: func(c *conform.C, q *plain.Queries) error {
				_, err := q.CopyItemsSeq(c.Ctx, func(yield func(plain.CopyItemsParams) bool) {
					yield(plain.CopyItemsParams{SupplierID: -1, Sku: "orphan", Status: plain.InventoryStatusActive})
				})
				// A COPY has no SQL text to name a query by.
				conform.WantConstraint(c, err, "", pgerr.ConstraintForeignKey, "items_supplier_id_fkey")
				return err
			}},
		}
	})
}
