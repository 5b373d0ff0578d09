package exported_test

import (
	"embed"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/conform"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/exported"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

//go:embed migrations/*.sql
var migrations embed.FS

func TestMain(m *testing.M) { os.Exit(pgkittest.Run(m)) }

// The query named Store is the exported constant Store, so pgkitgen's
// interface is PgkitStore.
var _ exported.PgkitStore = (*exported.Queries)(nil)

func TestExportedConstants(t *testing.T) {
	for name, sql := range map[string]string{
		"Store": exported.Store, "Lookup": exported.Lookup, "ListKeys": exported.ListKeys,
		"AddSensor": exported.AddSensor, "ListReadings": exported.ListReadings,
	} {
		if !strings.HasPrefix(sql, "-- name: "+name+" :") {
			t.Errorf("exported.%s = %q, not the SQL of query %s", name, sql, name)
		}
	}
}

// key is a row of ListKeys for pgkit.Stream.
type key struct{ Key string }

func TestConformance(t *testing.T) {
	p := conform.Package{Migrations: conform.Migrations(migrations), Queries: (*exported.Queries)(nil), Batch: (*exported.Batch)(nil), Decoders: exported.Decoders()}
	conform.Run(t, p, exported.New, func() []conform.Step[*exported.Queries] {
		var t1, h1 exported.Sensor
		var t1Readings []exported.Reading
		return []conform.Step[*exported.Queries]{
			{Name: "create", Run: func(c *conform.C, q *exported.Queries) error {
				for _, kv := range [][2]string{{"b", "2"}, {"a", "1"}, {"b", "3"}} {
					conform.NoErr(c, "Store", q.Store(c.Ctx, exported.StoreParams{Key: kv[0], Value: kv[1]}))
				}
				var err error
				t1, err = q.AddSensor(c.Ctx, exported.AddSensorParams{Name: "t1", Unit: "C"})
				conform.NoErr(c, "AddSensor", err)
				conform.Equal(c, "AddSensor", t1, exported.Sensor{Name: "t1", Unit: "C"})
				h1, err = q.AddSensor(c.Ctx, exported.AddSensorParams{Name: "h1", Unit: "%"})
				conform.NoErr(c, "AddSensor", err)
				return nil
			}},
			{Name: "primary key", Run: func(c *conform.C, q *exported.Queries) error {
				_, err := q.AddSensor(c.Ctx, exported.AddSensorParams{Name: "t1", Unit: "F"})
				conform.WantConstraint(c, err, "AddSensor", pgerr.ConstraintUnique, "sensors_pkey")
				return err
			}},
			{Name: "not found", Read: true, Run: func(c *conform.C, q *exported.Queries) error {
				_, err := q.Lookup(c.Ctx, "nope")
				conform.WantNotFound(c, err, "Lookup")
				// The exported constant run on the DB names the query too.
				var v string
				err = q.DB().QueryRow(c.Ctx, exported.Lookup, "nope").Scan(&v)
				conform.WantNotFound(c, err, "Lookup")
				return nil
			}},
			{Name: "get", Read: true, Run: func(c *conform.C, q *exported.Queries) error {
				got, err := q.Lookup(c.Ctx, "b")
				conform.NoErr(c, "Lookup", err)
				conform.Equal(c, "Lookup b after the upsert", got, "3")
				var v string
				conform.NoErr(c, "QueryRow(exported.Lookup)", q.DB().QueryRow(c.Ctx, exported.Lookup, "a").Scan(&v))
				conform.Equal(c, "QueryRow(exported.Lookup)", v, "1")
				return nil
			}},
			{Name: "single column", Read: true, Run: func(c *conform.C, q *exported.Queries) error {
				conform.Equal(c, "ListKeys", conform.Many[string](c, q, "ListKeys", c.Ctx), []string{"a", "b"})
				// The exported constant through pgkit.Stream and the DB's Query.
				var streamed []key
				for k, err := range pgkit.Stream[key](c.Ctx, q.DB(), exported.ListKeys) {
					conform.NoErr(c, "pgkit.Stream(exported.ListKeys)", err)
					streamed = append(streamed, k)
				}
				conform.Equal(c, "pgkit.Stream(exported.ListKeys)", streamed, []key{{"a"}, {"b"}})
				rows, err := q.DB().Query(c.Ctx, exported.ListKeys)
				conform.NoErr(c, "Query(exported.ListKeys)", err)
				keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
				conform.NoErr(c, "Query(exported.ListKeys)", err)
				conform.Equal(c, "Query(exported.ListKeys)", keys, []string{"a", "b"})
				return nil
			}},
			{Name: "no readings", Read: true, Run: func(c *conform.C, q *exported.Queries) error {
				conform.Equal(c, "ListReadings of a new sensor", len(conform.Many[exported.Reading](c, q, "ListReadings", c.Ctx, t1.Name)), 0)
				return nil
			}},
			{Name: "copyfrom", Direct: true, Run: func(c *conform.C, q *exported.Queries) error {
				n, err := q.CopyReadings(c.Ctx, []exported.CopyReadingsParams{{Sensor: t1.Name, Value: 20.5}, {Sensor: h1.Name, Value: 40}, {Sensor: t1.Name, Value: -3.25}})
				conform.NoErr(c, "CopyReadings", err)
				conform.Equal(c, "rows copied", n, int64(3))
				const many = 120
				n, err = q.CopyReadingsSeq(c.Ctx, func(yield func(exported.CopyReadingsParams) bool) {
					for i := range many {
						if !yield(exported.CopyReadingsParams{Sensor: t1.Name, Value: float64(i) / 4}) {
							return
						}
					}
				})
				conform.NoErr(c, "CopyReadingsSeq", err)
				conform.Equal(c, "rows copied from the seq", n, int64(many))
				t1Readings = conform.Many[exported.Reading](c, q, "ListReadings", c.Ctx, t1.Name)
				values := make([]float64, len(t1Readings))
				for i, r := range t1Readings {
					values[i] = r.Value
					if r.Sensor != t1.Name {
						c.Errorf("ListReadings t1 (%s): reading %+v", c.Mode, r)
					}
				}
				want := []float64{20.5, -3.25}
				for i := range many {
					want = append(want, float64(i)/4)
				}
				conform.Equal(c, "t1's readings after the COPYs", values, want)
				h := conform.Many[exported.Reading](c, q, "ListReadings", c.Ctx, h1.Name)
				conform.Equal(c, "h1's readings", len(h), 1)
				return nil
			}},
			{Name: "exported constant, pgkit.Stream", Read: true, Run: func(c *conform.C, q *exported.Queries) error {
				var streamed []exported.Reading
				for r, err := range pgkit.Stream[exported.Reading](c.Ctx, q.DB(), exported.ListReadings, t1.Name) {
					conform.NoErr(c, "pgkit.Stream(exported.ListReadings)", err)
					streamed = append(streamed, r)
				}
				conform.Equal(c, "pgkit.Stream(exported.ListReadings)", streamed, t1Readings)
				conform.Equal(c, "ListReadings", conform.Many[exported.Reading](c, q, "ListReadings", c.Ctx, t1.Name), t1Readings)
				return nil
			}},
		}
	})
}
