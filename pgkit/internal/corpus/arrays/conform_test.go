package arrays_test

import (
	"bytes"
	"embed"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shopdb/shopdb/pgkit/internal/corpus/arrays"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/conform"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

//go:embed migrations/*.sql
var migrations embed.FS

func TestMain(m *testing.M) { os.Exit(pgkittest.Run(m)) }

const mb = 1 << 20

// bigText is 1 MB of text; bigBlob 1 MB of every byte value.
var (
	bigText = strings.Repeat("0123456789abcdef", mb/16)
	bigBlob = func() []byte {
		b := make([]byte, mb)
		for i := range b {
			b[i] = byte(i * 7)
		}
		return b
	}()
)

func ids(items ...arrays.Item) []int64 {
	var out []int64
	for _, it := range items {
		out = append(out, it.ID)
	}
	return out
}

func TestConformance(t *testing.T) {
	p := conform.Package{Migrations: conform.Migrations(migrations), Queries: (*arrays.Queries)(nil), Batch: (*arrays.Batch)(nil), Decoders: arrays.Decoders()}
	conform.Run(t, p, arrays.New, func() []conform.Step[*arrays.Queries] {
		var full, empty, null, big arrays.Item
		var unnested []int64 // the ids of the rows InsertNames inserted
		fullArg := arrays.CreateItemParams{
			Name:   "full",
			Scores: []int32{1, 2, 3},
			Labels: []string{"x", "y z", ""},
			Doc:    []byte(`{"b": 1,  "a": [1, 2]}`), // json keeps its text as it is
			Meta:   []byte(`{"a": 1, "b": [true, null]}`),
			Body:   pgtype.Text{String: "hello", Valid: true},
			Blob:   []byte{0, 1, 2, 255},
		}
		emptyArg := arrays.CreateItemParams{
			Name:   "empty",
			Scores: []int32{},
			Labels: []string{},
			Doc:    []byte(`[]`),
			Meta:   []byte(`{}`),
			Body:   pgtype.Text{Valid: true},
			Blob:   []byte{},
		}
		return []conform.Step[*arrays.Queries]{
			{Name: "create", Run: func(c *conform.C, q *arrays.Queries) error {
				var err error
				full, err = q.CreateItem(c.Ctx, fullArg)
				conform.NoErr(c, "CreateItem", err)
				conform.Equal(c, "full item", full, arrays.Item{ID: full.ID, Name: fullArg.Name, Scores: fullArg.Scores, Labels: fullArg.Labels, Doc: fullArg.Doc, Meta: fullArg.Meta, Body: fullArg.Body, Blob: fullArg.Blob})
				empty, err = q.CreateItem(c.Ctx, emptyArg)
				conform.NoErr(c, "CreateItem", err)
				conform.Equal(c, "empty item", empty, arrays.Item{ID: empty.ID, Name: emptyArg.Name, Scores: emptyArg.Scores, Labels: emptyArg.Labels, Doc: emptyArg.Doc, Meta: emptyArg.Meta, Body: emptyArg.Body, Blob: emptyArg.Blob})
				null, err = q.CreateItem(c.Ctx, arrays.CreateItemParams{Name: "null"})
				conform.NoErr(c, "CreateItem", err)
				conform.Equal(c, "NULL item", null, arrays.Item{ID: null.ID, Name: "null"})
				return nil
			}},
			{Name: "create 1 MB", Run: func(c *conform.C, q *arrays.Queries) error {
				var err error
				big, err = q.CreateItem(c.Ctx, arrays.CreateItemParams{Name: "big", Body: pgtype.Text{String: bigText, Valid: true}, Blob: bigBlob})
				conform.NoErr(c, "CreateItem", err)
				conform.Equal(c, "1 MB text back from CreateItem", big.Body.String == bigText, true)
				conform.Equal(c, "1 MB bytea back from CreateItem", bytes.Equal(big.Blob, bigBlob), true)
				return nil
			}},
			{Name: "check", Run: func(c *conform.C, q *arrays.Queries) error {
				_, err := q.CreateItem(c.Ctx, arrays.CreateItemParams{Name: "six", Scores: []int32{1, 2, 3, 4, 5, 6}})
				conform.WantConstraint(c, err, "CreateItem", pgerr.ConstraintCheck, "items_scores_check")
				return err
			}},
			{Name: "unnest", Run: func(c *conform.C, q *arrays.Queries) error {
				n, err := q.InsertNames(c.Ctx, []string{"u1", "u2", "u3"})
				conform.NoErr(c, "InsertNames", err)
				conform.Equal(c, "rows InsertNames inserted", n, int64(3))
				n, err = q.InsertNames(c.Ctx, []string{})
				conform.NoErr(c, "InsertNames of none", err)
				conform.Equal(c, "rows InsertNames of none inserted", n, int64(0))
				unnested, err = q.GetIDsByNames(c.Ctx, []string{"u3", "u1", "u2"})
				conform.NoErr(c, "GetIDsByNames", err)
				conform.Equal(c, "ids of the unnested names", len(unnested), 3)
				return nil
			}},
			{Name: "unique", Run: func(c *conform.C, q *arrays.Queries) error {
				_, err := q.InsertNames(c.Ctx, []string{"u4", "full"})
				conform.WantConstraint(c, err, "InsertNames", pgerr.ConstraintUnique, "items_name_key")
				return err
			}},
			{Name: "not found", Read: true, Run: func(c *conform.C, q *arrays.Queries) error {
				_, err := q.GetItem(c.Ctx, -1)
				conform.WantNotFound(c, err, "GetItem")
				return nil
			}},
			{Name: ":one of array_agg", Read: true, Run: func(c *conform.C, q *arrays.Queries) error {
				got, err := q.GetIDsByNames(c.Ctx, []string{"null", "full", "empty"})
				conform.NoErr(c, "GetIDsByNames", err)
				conform.Equal(c, "GetIDsByNames", got, ids(full, empty, null))
				got, err = q.GetIDsByNames(c.Ctx, []string{"nope"})
				conform.NoErr(c, "GetIDsByNames of no rows", err)
				conform.Equal(c, "GetIDsByNames of no rows (array_agg is NULL)", got, []int64(nil))
				return nil
			}},
			{Name: "= ANY", Read: true, Run: func(c *conform.C, q *arrays.Queries) error {
				got := conform.Many[arrays.Item](c, q, "ListItemsByIDs", c.Ctx, ids(null, full, empty))
				conform.Equal(c, "ListItemsByIDs", got, []arrays.Item{full, empty, null})
				got = conform.Many[arrays.Item](c, q, "ListItemsByIDs", c.Ctx, unnested)
				conform.Equal(c, "ListItemsByIDs of the unnested names", got, []arrays.Item{{ID: unnested[0], Name: "u1"}, {ID: unnested[1], Name: "u2"}, {ID: unnested[2], Name: "u3"}})
				none := conform.Many[arrays.Item](c, q, "ListItemsByIDs", c.Ctx, []int64{})
				conform.Equal(c, "ListItemsByIDs of an empty array", len(none), 0)
				none = conform.Many[arrays.Item](c, q, "ListItemsByIDs", c.Ctx, []int64(nil))
				conform.Equal(c, "ListItemsByIDs of a NULL array", len(none), 0)
				return nil
			}},
			{Name: "= ANY and <> ALL", Read: true, Run: func(c *conform.C, q *arrays.Queries) error {
				got := conform.Many[arrays.ListItemsExceptRow](c, q, "ListItemsExcept", c.Ctx, arrays.ListItemsExceptParams{Ids: ids(full, empty, null), Excluded: []string{"empty", "nope"}})
				conform.Equal(c, "ListItemsExcept", got, []arrays.ListItemsExceptRow{
					{ID: full.ID, Name: full.Name, Scores: full.Scores, Labels: full.Labels},
					{ID: null.ID, Name: null.Name},
				})
				got = conform.Many[arrays.ListItemsExceptRow](c, q, "ListItemsExcept", c.Ctx, arrays.ListItemsExceptParams{Ids: ids(full), Excluded: []string{"full"}})
				conform.Equal(c, "ListItemsExcept of everything excluded", len(got), 0)
				return nil
			}},
			{Name: "text[] parameter, text result", Read: true, Run: func(c *conform.C, q *arrays.Queries) error {
				got := conform.Many[string](c, q, "ListNames", c.Ctx, []string{"u3", "nope", "u1"})
				conform.Equal(c, "ListNames", got, []string{"u1", "u3"})
				none := conform.Many[string](c, q, "ListNames", c.Ctx, []string{})
				conform.Equal(c, "ListNames of an empty array", len(none), 0)
				return nil
			}},
			{Name: "int4[] results", Read: true, Run: func(c *conform.C, q *arrays.Queries) error {
				got := conform.Many[[]int32](c, q, "ListScores", c.Ctx, ids(full, empty, null))
				conform.Equal(c, "ListScores", got, [][]int32{{1, 2, 3}, {}, nil})
				none := conform.Many[[]int32](c, q, "ListScores", c.Ctx, []int64{-1})
				conform.Equal(c, "ListScores of no rows", len(none), 0)
				return nil
			}},
			{Name: "text[] results", Read: true, Run: func(c *conform.C, q *arrays.Queries) error {
				got := conform.Many[[]string](c, q, "ListLabels", c.Ctx, ids(full, empty, null))
				conform.Equal(c, "ListLabels", got, [][]string{{"x", "y z", ""}, {}, nil})
				none := conform.Many[[]string](c, q, "ListLabels", c.Ctx, []int64{-1})
				conform.Equal(c, "ListLabels of no rows", len(none), 0)
				return nil
			}},
			{Name: "json and jsonb", Read: true, Run: func(c *conform.C, q *arrays.Queries) error {
				got := conform.Many[arrays.ListDocsRow](c, q, "ListDocs", c.Ctx, ids(full, empty, null))
				conform.Equal(c, "ListDocs", got, []arrays.ListDocsRow{
					{Doc: fullArg.Doc, Meta: fullArg.Meta},
					{Doc: emptyArg.Doc, Meta: emptyArg.Meta},
					{},
				})
				none := conform.Many[arrays.ListDocsRow](c, q, "ListDocs", c.Ctx, []int64{-1})
				conform.Equal(c, "ListDocs of no rows", len(none), 0)
				return nil
			}},
			{Name: "bytea", Read: true, Run: func(c *conform.C, q *arrays.Queries) error {
				got := conform.Many[[]byte](c, q, "ListBlobs", c.Ctx, ids(full, empty, null))
				conform.Equal(c, "ListBlobs", got, [][]byte{{0, 1, 2, 255}, {}, nil})
				none := conform.Many[[]byte](c, q, "ListBlobs", c.Ctx, []int64{-1})
				conform.Equal(c, "ListBlobs of no rows", len(none), 0)
				return nil
			}},
			{Name: "1 MB through :one", Read: true, Run: func(c *conform.C, q *arrays.Queries) error {
				got, err := q.GetItem(c.Ctx, big.ID)
				conform.NoErr(c, "GetItem", err)
				conform.Equal(c, "1 MB text through GetItem", got.Body.String == bigText, true)
				conform.Equal(c, "1 MB bytea through GetItem", bytes.Equal(got.Blob, bigBlob), true)
				conform.Equal(c, "GetItem of the 1 MB item", got, big)
				return nil
			}},
			{Name: "1 MB through :many and its stream", Read: true, Run: func(c *conform.C, q *arrays.Queries) error {
				got := conform.Many[arrays.Item](c, q, "ListItemsByIDs", c.Ctx, ids(full, big))
				conform.Equal(c, "ListItemsByIDs with the 1 MB item", len(got), 2)
				if len(got) == 2 {
					conform.Equal(c, "ListItemsByIDs' 1 MB text", got[1].Body.String == bigText, true)
					conform.Equal(c, "ListItemsByIDs' 1 MB bytea", bytes.Equal(got[1].Blob, bigBlob), true)
					conform.Equal(c, "ListItemsByIDs with the 1 MB item", got, []arrays.Item{full, big})
				}
				blobs := conform.Many[[]byte](c, q, "ListBlobs", c.Ctx, ids(big, full))
				conform.Equal(c, "ListBlobs with the 1 MB bytea", len(blobs) == 2 && bytes.Equal(blobs[1], bigBlob), true)
				bodies := conform.Many[pgtype.Text](c, q, "ListBodies", c.Ctx, ids(full, empty, null, big))
				conform.Equal(c, "ListBodies", bodies, []pgtype.Text{full.Body, {Valid: true}, {}, {String: bigText, Valid: true}})
				none := conform.Many[pgtype.Text](c, q, "ListBodies", c.Ctx, []int64{})
				conform.Equal(c, "ListBodies of no rows", len(none), 0)
				return nil
			}},
		}
	})
}
