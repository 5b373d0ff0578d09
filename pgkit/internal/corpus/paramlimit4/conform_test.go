package paramlimit4_test

import (
	"embed"
	"os"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shopdb/shopdb/pgkit/internal/corpus/conform"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/paramlimit4"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

//go:embed migrations/*.sql
var migrations embed.FS

func TestMain(m *testing.M) { os.Exit(pgkittest.Run(m)) }

// plot is a plot without its generated ID.
type plot struct {
	Farm  string
	RowNo int32
	Crop  string
	Yield int32
}

func TestConformance(t *testing.T) {
	p := conform.Package{Migrations: conform.Migrations(migrations), Queries: (*paramlimit4.Queries)(nil), Batch: (*paramlimit4.Batch)(nil), Decoders: paramlimit4.Decoders()}
	conform.Run(t, p, paramlimit4.New, func() []conform.Step[*paramlimit4.Queries] {
		var n1, n2, n3, n4, s1 paramlimit4.Plot
		return []conform.Step[*paramlimit4.Queries]{
			{Name: "create", Run: func(c *conform.C, q *paramlimit4.Queries) error {
				for _, p := range []struct {
					dst *paramlimit4.Plot
					plot
				}{
					{&n1, plot{"north", 1, "corn", 50}},
					{&n2, plot{"north", 2, "corn", 80}},
					{&n3, plot{"north", 3, "wheat", 30}},
					{&s1, plot{"south", 1, "corn", 90}},
				} {
					var err error
					*p.dst, err = q.CreatePlot(c.Ctx, p.Farm, p.RowNo, p.Crop, p.Yield) // four positional parameters
					conform.NoErr(c, "CreatePlot", err)
					conform.Equal(c, "CreatePlot", *p.dst, paramlimit4.Plot{ID: p.dst.ID, Farm: p.Farm, RowNo: p.RowNo, Crop: p.Crop, Yield: p.Yield})
				}
				var err error
				n4, err = q.CreateNotedPlot(c.Ctx, paramlimit4.CreateNotedPlotParams{Farm: "north", RowNo: 4, Crop: "corn", Yield: 65, Note: pgtype.Text{String: "drip", Valid: true}})
				conform.NoErr(c, "CreateNotedPlot", err)
				conform.Equal(c, "CreateNotedPlot", n4, paramlimit4.Plot{ID: n4.ID, Farm: "north", RowNo: 4, Crop: "corn", Yield: 65, Note: pgtype.Text{String: "drip", Valid: true}})
				return nil
			}},
			{Name: "unique", Run: func(c *conform.C, q *paramlimit4.Queries) error {
				_, err := q.CreatePlot(c.Ctx, "north", 2, "rye", 1)
				conform.WantConstraint(c, err, "CreatePlot", pgerr.ConstraintUnique, "plots_farm_row_no_key")
				return err
			}},
			{Name: "not found", Read: true, Run: func(c *conform.C, q *paramlimit4.Queries) error {
				_, err := q.GetPlot(c.Ctx, -1)
				conform.WantNotFound(c, err, "GetPlot")
				return nil
			}},
			{Name: "get", Read: true, Run: func(c *conform.C, q *paramlimit4.Queries) error {
				got, err := q.GetPlot(c.Ctx, n4.ID)
				conform.NoErr(c, "GetPlot", err)
				conform.Equal(c, "GetPlot", got, n4)
				return nil
			}},
			{Name: "three positional", Read: true, Run: func(c *conform.C, q *paramlimit4.Queries) error {
				got := conform.Many[paramlimit4.Plot](c, q, "ListPlotsOfCrop", c.Ctx, "north", "corn", int32(60))
				conform.Equal(c, "ListPlotsOfCrop north corn 60", got, []paramlimit4.Plot{n2, n4})
				got = conform.Many[paramlimit4.Plot](c, q, "ListPlotsOfCrop", c.Ctx, "north", "corn", int32(0))
				conform.Equal(c, "ListPlotsOfCrop north corn 0", got, []paramlimit4.Plot{n1, n2, n4})
				got = conform.Many[paramlimit4.Plot](c, q, "ListPlotsOfCrop", c.Ctx, "south", "wheat", int32(0))
				conform.Equal(c, "ListPlotsOfCrop south wheat", len(got), 0)
				return nil
			}},
			{Name: "four positional, single column", Read: true, Run: func(c *conform.C, q *paramlimit4.Queries) error {
				got := conform.Many[int32](c, q, "ListYields", c.Ctx, "north", int32(1), int32(3), int32(40))
				conform.Equal(c, "ListYields north 1-3 40", got, []int32{50, 80})
				got = conform.Many[int32](c, q, "ListYields", c.Ctx, "north", int32(1), int32(4), int32(0))
				conform.Equal(c, "ListYields north 1-4 0", got, []int32{50, 80, 30, 65})
				got = conform.Many[int32](c, q, "ListYields", c.Ctx, "north", int32(5), int32(9), int32(0))
				conform.Equal(c, "ListYields north 5-9", len(got), 0)
				return nil
			}},
			{Name: "parameters named like the generated code's locals", Read: true, Run: func(c *conform.C, q *paramlimit4.Queries) error {
				// i, dest, blank, kept: the row variable, Scan list, zero
				// row and kept length of …Append and of the stream.
				got := conform.Many[paramlimit4.Plot](c, q, "ListPlotsNamedLikeLocals", c.Ctx, "north", int32(2), int32(4), int32(60))
				conform.Equal(c, "ListPlotsNamedLikeLocals north 2-4 60", got, []paramlimit4.Plot{n2, n4})
				got = conform.Many[paramlimit4.Plot](c, q, "ListPlotsNamedLikeLocals", c.Ctx, "south", int32(0), int32(9), int32(0))
				conform.Equal(c, "ListPlotsNamedLikeLocals south", got, []paramlimit4.Plot{s1})
				return nil
			}},
			{Name: "five, a struct", Read: true, Run: func(c *conform.C, q *paramlimit4.Queries) error {
				got := conform.Many[paramlimit4.Plot](c, q, "ListPlotsIn", c.Ctx, paramlimit4.ListPlotsInParams{Farm: "north", FirstRow: 2, LastRow: 4, MinYield: 30, MaxYield: 70})
				conform.Equal(c, "ListPlotsIn", got, []paramlimit4.Plot{n3, n4})
				return nil
			}},
			{Name: "exec", Run: func(c *conform.C, q *paramlimit4.Queries) error {
				conform.NoErr(c, "SetYield", q.SetYield(c.Ctx, "north", 3, 35))
				n3.Yield = 35
				got, err := q.GetPlot(c.Ctx, n3.ID)
				conform.NoErr(c, "GetPlot", err)
				conform.Equal(c, "GetPlot after SetYield", got, n3)
				return nil
			}},
			{Name: "copyfrom", Direct: true, Run: func(c *conform.C, q *paramlimit4.Queries) error {
				n, err := q.CopyPlots(c.Ctx, []paramlimit4.CopyPlotsParams{{Farm: "west", RowNo: 1, Crop: "oat", Yield: 5}, {Farm: "west", RowNo: 2, Crop: "oat", Yield: 6}})
				conform.NoErr(c, "CopyPlots", err)
				conform.Equal(c, "rows copied", n, int64(2))
				const many = 150
				n, err = q.CopyPlotsSeq(c.Ctx, func(yield func(paramlimit4.CopyPlotsParams) bool) {
					for i := range int32(many) {
						if !yield(paramlimit4.CopyPlotsParams{Farm: "west", RowNo: 10 + i, Crop: "rye", Yield: i}) {
							return
						}
					}
				})
				conform.NoErr(c, "CopyPlotsSeq", err)
				conform.Equal(c, "rows copied from the seq", n, int64(many))
				var got []plot
				for _, p := range conform.Many[paramlimit4.Plot](c, q, "ListPlotsIn", c.Ctx, paramlimit4.ListPlotsInParams{Farm: "west", FirstRow: 0, LastRow: 1000, MinYield: 0, MaxYield: 1000}) {
					got = append(got, plot{p.Farm, p.RowNo, p.Crop, p.Yield})
				}
				want := []plot{{"west", 1, "oat", 5}, {"west", 2, "oat", 6}}
				for i := range int32(many) {
					want = append(want, plot{"west", 10 + i, "rye", i})
				}
				conform.Equal(c, "west's plots after the COPYs", got, want)
				return nil
			}},
		}
	})
}
