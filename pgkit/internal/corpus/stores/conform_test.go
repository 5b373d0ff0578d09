package stores_test

import (
	"embed"
	"errors"
	"os"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shopdb/shopdb/pgkit/internal/corpus/conform"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/stores"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

//go:embed migrations/*.sql
var migrations embed.FS

func TestMain(m *testing.M) { os.Exit(pgkittest.Run(m)) }

// sqlc's models keep the names Store and Streamer; pgkitgen's interfaces,
// with no flags, are PgkitStore and PgkitStreamer.
var (
	_ stores.PgkitStore    = stores.New(nil)
	_ stores.PgkitStreamer = stores.New(nil)
	_ stores.Querier       = stores.New(nil)
	_                      = stores.Store{ID: 1, Name: "a", City: pgtype.Text{}}
	_                      = stores.Streamer{ID: 1, StoreID: 1, Handle: "h", Followers: 0}
)

var errBoom = errors.New("boom")

// storeCount counts the stores named name as the mode's pool sees them
// (c.DB), or in the "tx" mode, where nothing commits before the scenario
// ends, as q's transaction does.
func storeCount(c *conform.C, q *stores.Queries, name string) int {
	c.Helper()
	if c.Mode == "tx" {
		return countOn(c, q.DB(), name)
	}
	return countOn(c, c.DB, name)
}

func countOn(c *conform.C, db stores.DBTX, name string) int {
	c.Helper()
	var n int
	err := db.QueryRow(c.Ctx, "SELECT count(*) FROM stores WHERE name = $1", name).Scan(&n)
	conform.NoErr(c, "count stores", err)
	return n
}

func TestConformance(t *testing.T) {
	p := conform.Package{Migrations: conform.Migrations(migrations), Queries: (*stores.Queries)(nil), Batch: (*stores.Batch)(nil), Decoders: stores.Decoders()}
	conform.Run(t, p, stores.New, func() []conform.Step[*stores.Queries] {
		var north, south stores.Store
		var ann, ben, cat stores.Streamer
		return []conform.Step[*stores.Queries]{
			{Name: "create", Run: func(c *conform.C, q *stores.Queries) error {
				var s stores.PgkitStore = q
				var err error
				north, err = s.CreateStore(c.Ctx, stores.CreateStoreParams{Name: "North", City: pgtype.Text{String: "Oslo", Valid: true}})
				conform.NoErr(c, "CreateStore", err)
				south, err = s.CreateStore(c.Ctx, stores.CreateStoreParams{Name: "South"})
				conform.NoErr(c, "CreateStore", err)
				conform.Equal(c, "South's city", south.City, pgtype.Text{})
				ann, err = s.CreateStreamer(c.Ctx, stores.CreateStreamerParams{StoreID: north.ID, Handle: "ann", Followers: 30})
				conform.NoErr(c, "CreateStreamer", err)
				ben, err = s.CreateStreamer(c.Ctx, stores.CreateStreamerParams{StoreID: north.ID, Handle: "ben", Followers: 10})
				conform.NoErr(c, "CreateStreamer", err)
				cat, err = s.CreateStreamer(c.Ctx, stores.CreateStreamerParams{StoreID: north.ID, Handle: "cat", Followers: 30})
				conform.NoErr(c, "CreateStreamer", err)
				return nil
			}},
			{Name: "unique", Run: func(c *conform.C, q *stores.Queries) error {
				_, err := q.CreateStore(c.Ctx, stores.CreateStoreParams{Name: "North"})
				conform.WantConstraint(c, err, "CreateStore", pgerr.ConstraintUnique, "stores_name_key")
				return err
			}},
			{Name: "not found", Read: true, Run: func(c *conform.C, q *stores.Queries) error {
				_, err := q.GetStore(c.Ctx, -1)
				conform.WantNotFound(c, err, "GetStore")
				return nil
			}},
			{Name: "get", Read: true, Run: func(c *conform.C, q *stores.Queries) error {
				got, err := q.GetStore(c.Ctx, north.ID)
				conform.NoErr(c, "GetStore", err)
				conform.Equal(c, "GetStore", got, north)
				return nil
			}},
			{Name: "list stores", Read: true, Run: func(c *conform.C, q *stores.Queries) error {
				got := conform.Many[stores.Store](c, q, "ListStores", c.Ctx)
				conform.Equal(c, "ListStores", got, []stores.Store{north, south})
				return nil
			}},
			{Name: "StreamQuery", Read: true, Run: func(c *conform.C, q *stores.Queries) error {
				got := conform.Many[stores.Streamer](c, q, "StreamQuery", c.Ctx, north.ID)
				conform.Equal(c, "StreamQuery", got, []stores.Streamer{ann, ben, cat})
				none := conform.Many[stores.Streamer](c, q, "StreamQuery", c.Ctx, south.ID)
				conform.Equal(c, "StreamQuery of a store without streamers", len(none), 0)
				return nil
			}},
			{Name: "PgkitStreamQuery", Read: true, Run: func(c *conform.C, q *stores.Queries) error {
				got := conform.Many[string](c, q, "PgkitStreamQuery", c.Ctx, int32(20))
				conform.Equal(c, "PgkitStreamQuery", got, []string{"ann", "cat"})
				none := conform.Many[string](c, q, "PgkitStreamQuery", c.Ctx, int32(1000))
				conform.Equal(c, "PgkitStreamQuery above every count", len(none), 0)
				return nil
			}},
			{Name: "Iter and Fmt", Read: true, Run: func(c *conform.C, q *stores.Queries) error {
				// sqlc names their SQL constants iter and fmt: pgkitgen's file
				// imports those packages under other names.
				names := conform.Many[string](c, q, "Iter", c.Ctx)
				conform.Equal(c, "Iter", len(names), 2)
				n, err := q.Fmt(c.Ctx)
				conform.NoErr(c, "Fmt", err)
				conform.Equal(c, "Fmt", n, int64(3))
				return nil
			}},
			// RunInTx through the PgkitStore interface. Direct: the
			// connection Pipeline hands out cannot begin a transaction.
			{Name: "RunInTx commits", Direct: true, Run: func(c *conform.C, q *stores.Queries) error {
				var s stores.PgkitStore = q
				err := s.RunInTx(c.Ctx, func(tx stores.PgkitStore) error {
					_, err := tx.CreateStore(c.Ctx, stores.CreateStoreParams{Name: "Committed"})
					if err != nil {
						return err
					}
					// A nested RunInTx is a savepoint: its error rolls back
					// only what it wrote.
					err = tx.RunInTx(c.Ctx, func(inner stores.PgkitStore) error {
						if _, err := inner.CreateStore(c.Ctx, stores.CreateStoreParams{Name: "Nested"}); err != nil {
							return err
						}
						return errBoom
					})
					if !errors.Is(err, errBoom) {
						c.Errorf("nested RunInTx (%s): %v, want %v", c.Mode, err, errBoom)
					}
					return nil
				})
				conform.NoErr(c, "RunInTx", err)
				conform.Equal(c, "stores named Committed after RunInTx returned nil", storeCount(c, q, "Committed"), 1)
				conform.Equal(c, "stores named Nested after the nested RunInTx failed", storeCount(c, q, "Nested"), 0)
				return nil
			}},
			{Name: "RunInTx rolls back", Direct: true, Run: func(c *conform.C, q *stores.Queries) error {
				var s stores.PgkitStore = q
				err := s.RunInTx(c.Ctx, func(tx stores.PgkitStore) error {
					if _, err := tx.CreateStore(c.Ctx, stores.CreateStoreParams{Name: "RolledBack"}); err != nil {
						return err
					}
					conform.Equal(c, "stores named RolledBack inside the transaction", countOn(c, tx.(*stores.Queries).DB(), "RolledBack"), 1)
					return errBoom
				})
				if !errors.Is(err, errBoom) {
					c.Errorf("RunInTx (%s): %v, want %v", c.Mode, err, errBoom)
				}
				conform.Equal(c, "stores named RolledBack after RunInTx returned an error", storeCount(c, q, "RolledBack"), 0)
				return nil
			}},
		}
	})
}
