package storesflags_test

import (
	"embed"
	"errors"
	"os"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shopdb/shopdb/pgkit/internal/corpus/conform"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/storesflags"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

//go:embed migrations/*.sql
var migrations embed.FS

func TestMain(m *testing.M) { os.Exit(pgkittest.Run(m)) }

// -store=Repo -streamer=RowStreamer name pgkitgen's interfaces; sqlc's
// models keep Store and Streamer.
var (
	_ storesflags.Repo        = storesflags.New(nil)
	_ storesflags.RowStreamer = storesflags.New(nil)
	_                         = storesflags.Store{ID: 1, Name: "a"}
	_                         = storesflags.Streamer{ID: 1, StoreID: 1, Handle: "h"}
)

var errBoom = errors.New("boom")

func TestConformance(t *testing.T) {
	p := conform.Package{Migrations: conform.Migrations(migrations), Queries: (*storesflags.Queries)(nil), Batch: (*storesflags.Batch)(nil), Decoders: storesflags.Decoders()}
	conform.Run(t, p, storesflags.New, func() []conform.Step[*storesflags.Queries] {
		var north, south storesflags.Store
		var ann, ben storesflags.Streamer
		return []conform.Step[*storesflags.Queries]{
			{Name: "create", Run: func(c *conform.C, q *storesflags.Queries) error {
				var r storesflags.Repo = q
				var err error
				north, err = r.CreateStore(c.Ctx, "North")
				conform.NoErr(c, "CreateStore", err)
				south, err = r.CreateStore(c.Ctx, "South")
				conform.NoErr(c, "CreateStore", err)
				ann, err = r.CreateStreamer(c.Ctx, storesflags.CreateStreamerParams{StoreID: north.ID, Handle: "ann", Followers: pgtype.Int4{Int32: 7, Valid: true}})
				conform.NoErr(c, "CreateStreamer", err)
				ben, err = r.CreateStreamer(c.Ctx, storesflags.CreateStreamerParams{StoreID: north.ID, Handle: "ben"})
				conform.NoErr(c, "CreateStreamer", err)
				conform.Equal(c, "ben's followers", ben.Followers, pgtype.Int4{})
				return nil
			}},
			{Name: "check", Run: func(c *conform.C, q *storesflags.Queries) error {
				_, err := q.CreateStreamer(c.Ctx, storesflags.CreateStreamerParams{StoreID: north.ID, Handle: "neg", Followers: pgtype.Int4{Int32: -1, Valid: true}})
				conform.WantConstraint(c, err, "CreateStreamer", pgerr.ConstraintCheck, "streamers_followers_check")
				return err
			}},
			{Name: "not found", Read: true, Run: func(c *conform.C, q *storesflags.Queries) error {
				_, err := q.GetStore(c.Ctx, -1)
				conform.WantNotFound(c, err, "GetStore")
				return nil
			}},
			{Name: "list", Read: true, Run: func(c *conform.C, q *storesflags.Queries) error {
				var s storesflags.RowStreamer = q
				got := conform.Many[storesflags.Streamer](c, s, "ListStreamers", c.Ctx, north.ID)
				conform.Equal(c, "ListStreamers", got, []storesflags.Streamer{ann, ben})
				none := conform.Many[storesflags.Streamer](c, s, "ListStreamers", c.Ctx, south.ID)
				conform.Equal(c, "ListStreamers of a store without streamers", len(none), 0)
				return nil
			}},
			// Direct: the connection Pipeline hands out cannot begin a
			// transaction.
			{Name: "RunInTx through Repo", Direct: true, Run: func(c *conform.C, q *storesflags.Queries) error {
				var r storesflags.Repo = q
				var kept, dropped storesflags.Store
				err := r.RunInTx(c.Ctx, func(tx storesflags.Repo) error {
					var err error
					kept, err = tx.CreateStore(c.Ctx, "Kept")
					return err
				})
				conform.NoErr(c, "RunInTx", err)
				err = r.RunInTx(c.Ctx, func(tx storesflags.Repo) error {
					var err error
					if dropped, err = tx.CreateStore(c.Ctx, "Dropped"); err != nil {
						return err
					}
					return errBoom
				})
				if !errors.Is(err, errBoom) {
					c.Errorf("RunInTx (%s): %v, want %v", c.Mode, err, errBoom)
				}
				got, err := q.GetStore(c.Ctx, kept.ID)
				conform.NoErr(c, "GetStore of the committed store", err)
				conform.Equal(c, "the committed store", got, kept)
				_, err = q.GetStore(c.Ctx, dropped.ID)
				conform.WantNotFound(c, err, "GetStore")
				return nil
			}},
		}
	})
}
