package outside18append2_test

import (
	"embed"
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/google/uuid"

	"github.com/shopdb/shopdb/pgkit/internal/corpus/conform"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/outside18append2"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

//go:embed migrations/*.sql
var migrations embed.FS

func TestMain(m *testing.M) { os.Exit(pgkittest.Run(m)) }

func TestConformance(t *testing.T) {
	p := conform.Package{Migrations: conform.Migrations(migrations), Queries: (*outside18append2.Queries)(nil), Batch: (*outside18append2.Batch)(nil), Decoders: outside18append2.Decoders()}
	conform.Run(t, p, outside18append2.New, func() []conform.Step[*outside18append2.Queries] {
		var things []outside18append2.Thing // d is 1, 2, 3, 4: row k's slices all differ from row j's
		return []conform.Step[*outside18append2.Queries]{
			{Name: "create", Run: func(c *conform.C, q *outside18append2.Queries) error {
				for d := int32(1); d <= 4; d++ {
					arg := outside18append2.CreateThingParams{
						Uuid:   uuid.New(),
						Json:   json.RawMessage(fmt.Sprintf(`{"d": %d}`, d)),
						Blob:   []byte{byte(d), byte(d), byte(d)}[:d%3+1],
						Scores: []int32{d, d * 10, d * 100}[:d%3+1],
						D:      d,
					}
					th, err := q.CreateThing(c.Ctx, arg)
					conform.NoErr(c, "CreateThing", err)
					conform.Equal(c, "CreateThing", th, outside18append2.Thing{ID: th.ID, Uuid: arg.Uuid, Json: arg.Json, Blob: arg.Blob, Scores: arg.Scores, D: d})
					things = append(things, th)
				}
				return nil
			}},
			{Name: "single column named after its type's package", Read: true, Run: func(c *conform.C, q *outside18append2.Queries) error {
				var uuids []uuid.UUID
				var docs []json.RawMessage
				for _, th := range things {
					uuids = append(uuids, th.Uuid)
					docs = append(docs, th.Json)
				}
				conform.Equal(c, "ListUUIDs", conform.Many[uuid.UUID](c, q, "ListUUIDs", c.Ctx), uuids)
				conform.Equal(c, "ListJSON", conform.Many[json.RawMessage](c, q, "ListJSON", c.Ctx), docs)
				return nil
			}},
			{Name: "parameters named len and any", Read: true, Run: func(c *conform.C, q *outside18append2.Queries) error {
				var short, notTwo []outside18append2.Thing
				for _, th := range things {
					if len(th.Scores) <= 2 {
						short = append(short, th)
					}
					if th.D != 2 {
						notTwo = append(notTwo, th)
					}
				}
				conform.Equal(c, "ListThingsLen", conform.Many[outside18append2.Thing](c, q, "ListThingsLen", c.Ctx, int32(2)), short)
				conform.Equal(c, "ListThingsAny", conform.Many[outside18append2.Thing](c, q, "ListThingsAny", c.Ctx, int32(2)), notTwo)
				return nil
			}},
			{Name: "slices of one row are not another's", Read: true, Run: func(c *conform.C, q *outside18append2.Queries) error {
				var blobs [][]byte
				var scores [][]int32
				for _, th := range things {
					blobs = append(blobs, th.Blob)
					scores = append(scores, th.Scores)
				}
				conform.Equal(c, "ListBlobs", conform.Many[[]byte](c, q, "ListBlobs", c.Ctx), blobs)
				conform.Equal(c, "ListScores", conform.Many[[]int32](c, q, "ListScores", c.Ctx), scores)
				got, err := q.ListThingsAnyAppend(c.Ctx, nil, 0)
				conform.NoErr(c, "ListThingsAnyAppend", err)
				conform.Equal(c, "ListThingsAnyAppend (every row, after the last was scanned)", got, things)
				return nil
			}},
			{Name: "queries named like locals and builtins", Read: true, Run: func(c *conform.C, q *outside18append2.Queries) error {
				// sqlc's constants dst, zero, yield and any (the queries' SQL)
				// are package-level names: the …Append's dst, the stream's
				// zero and yield must not shadow them, nor may pgkitgen write
				// any for the type.
				var ds []int32
				for _, th := range things {
					ds = append(ds, th.D)
				}
				conform.Equal(c, "Dst", conform.Many[int32](c, q, "Dst", c.Ctx), ds)
				conform.Equal(c, "Zero", conform.Many[int32](c, q, "Zero", c.Ctx), ds)
				conform.Equal(c, "Yield", conform.Many[int32](c, q, "Yield", c.Ctx), ds)
				conform.Equal(c, "Any", conform.Many[outside18append2.Thing](c, q, "Any", c.Ctx), things)
				return nil
			}},
			{Name: "copy in a package with a query named Any", Direct: true, Run: func(c *conform.C, q *outside18append2.Queries) error {
				arg := outside18append2.CopyThingsParams{Uuid: uuid.New(), Json: json.RawMessage(`[]`), Blob: []byte{}, Scores: []int32{}, D: 5}
				n, err := q.CopyThingsSeq(c.Ctx, func(yield func(outside18append2.CopyThingsParams) bool) { yield(arg) })
				conform.NoErr(c, "CopyThingsSeq", err)
				conform.Equal(c, "rows CopyThingsSeq copied", n, int64(1))
				all, err := q.Any(c.Ctx)
				conform.NoErr(c, "Any", err)
				last := all[len(all)-1]
				conform.Equal(c, "the copied row", last, outside18append2.Thing{ID: last.ID, Uuid: arg.Uuid, Json: arg.Json, Blob: arg.Blob, Scores: arg.Scores, D: 5})
				things = append(things, last)
				return nil
			}},
			{Name: "quotients", Read: true, Run: func(c *conform.C, q *outside18append2.Queries) error {
				conform.Equal(c, "ListQuotients", conform.Many[outside18append2.ListQuotientsRow](c, q, "ListQuotients", c.Ctx, int32(10)), quotients(things, 10))
				return nil
			}},
			{Name: "division by zero on row 3", Run: func(c *conform.C, q *outside18append2.Queries) error {
				// dst's own row survives, and the two rows read before the
				// error are not kept (in dst's spare capacity they may be).
				kept := quotients(things, 10)[3]
				dst := append(make([]outside18append2.ListQuotientsRow, 0, 8), kept)
				got, err := q.ListQuotientsAppend(c.Ctx, dst, 3)
				if err == nil || len(got) != 1 || fmt.Sprint(got[0]) != fmt.Sprint(kept) {
					c.Fatalf("ListQuotientsAppend (%s) failing on row 3: %v and %+v, want the error and dst as it was", c.Mode, err, got)
				}
				return conform.ManyFails[outside18append2.ListQuotientsRow](c, q, "ListQuotients", c.Ctx, int32(3))
			}},
		}
	})
}

// quotients are ListQuotients' rows of things for pivot.
func quotients(things []outside18append2.Thing, pivot int32) []outside18append2.ListQuotientsRow {
	var out []outside18append2.ListQuotientsRow
	for _, th := range things {
		out = append(out, outside18append2.ListQuotientsRow{ID: th.ID, Blob: th.Blob, Scores: th.Scores, Q: 100 / (th.D - pivot)})
	}
	return out
}
