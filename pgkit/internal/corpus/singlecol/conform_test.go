package singlecol_test

import (
	"embed"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shopdb/shopdb/pgkit/internal/corpus/conform"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/singlecol"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

//go:embed migrations/*.sql
var migrations embed.FS

func TestMain(m *testing.M) { os.Exit(pgkittest.Run(m)) }

func numeric(t testing.TB, s string) pgtype.Numeric {
	t.Helper()
	var n pgtype.Numeric
	if err := n.Scan(s); err != nil {
		t.Fatalf("numeric %q: %v", s, err)
	}
	return n
}

func numericText(c *conform.C, n pgtype.Numeric) string {
	c.Helper()
	v, err := n.Value()
	conform.NoErr(c, "numeric value", err)
	s, _ := v.(string)
	return s
}

// column returns f of every row.
func column[T any](rows []singlecol.Val, f func(singlecol.Val) T) []T {
	out := make([]T, len(rows))
	for i, r := range rows {
		out[i] = f(r)
	}
	return out
}

const (
	grp   = 1 // the group of the rows
	empty = 2 // a group without rows
)

func TestConformance(t *testing.T) {
	p := conform.Package{Migrations: conform.Migrations(migrations), Queries: (*singlecol.Queries)(nil), Batch: (*singlecol.Batch)(nil), Decoders: singlecol.Decoders()}
	conform.Run(t, p, singlecol.New, func() []conform.Step[*singlecol.Queries] {
		var vals []singlecol.Val // in id order
		return []conform.Step[*singlecol.Queries]{
			{Name: "create", Run: func(c *conform.C, q *singlecol.Queries) error {
				for _, arg := range []singlecol.CreateValParams{
					{Grp: grp, Big: 1 << 40, Label: "alpha", Flag: true, Amount: numeric(c, "12.50"),
						Day:  pgtype.Date{Time: time.Date(2024, time.February, 29, 0, 0, 0, 0, time.UTC), Valid: true},
						Tags: []string{"a", "b"}, Nums: []int32{1, 2, 3}, Note: pgtype.Text{String: "first", Valid: true},
						Yield: "y1", Zero: 0, Err: "e1"},
					{Grp: grp, Big: -5, Label: "beta", Flag: false, Amount: numeric(c, "NaN"),
						Day:  pgtype.Date{InfinityModifier: pgtype.Infinity, Valid: true},
						Tags: []string{}, Nums: []int32{}, Yield: "y2", Zero: 0, Err: ""},
					{Grp: grp, Big: 0, Label: "gamma", Flag: true, Amount: numeric(c, "-0.001"),
						Day:  pgtype.Date{InfinityModifier: pgtype.NegativeInfinity, Valid: true},
						Tags: []string{"with space", `quo"te`, "NULL", ""}, Nums: []int32{-1}, Note: pgtype.Text{Valid: true},
						Yield: "y1", Zero: 7, Err: "e3"},
				} {
					v, err := q.CreateVal(c.Ctx, arg)
					conform.NoErr(c, "CreateVal", err)
					vals = append(vals, v)
				}
				conform.Equal(c, "amount", numericText(c, vals[0].Amount), "12.50")
				conform.Equal(c, "NaN amount", vals[1].Amount.NaN, true)
				conform.Equal(c, "tags", vals[2].Tags, []string{"with space", `quo"te`, "NULL", ""})
				conform.Equal(c, "empty tags", vals[1].Tags, []string{})
				conform.Equal(c, "NULL note", vals[1].Note, pgtype.Text{})
				conform.Equal(c, "empty note", vals[2].Note, pgtype.Text{Valid: true})
				return nil
			}},
			{Name: "not null", Run: func(c *conform.C, q *singlecol.Queries) error {
				// pgx encodes a nil slice as NULL.
				_, err := q.CreateVal(c.Ctx, singlecol.CreateValParams{Grp: grp, Label: "nil tags", Amount: numeric(c, "1"), Day: vals[0].Day, Nums: []int32{}})
				conform.WantConstraint(c, err, "CreateVal", pgerr.ConstraintNotNull, "tags")
				return err
			}},
			{Name: "int4", Read: true, Run: func(c *conform.C, q *singlecol.Queries) error {
				got := conform.Many[int32](c, q, "ListIDs", c.Ctx, int32(grp))
				conform.Equal(c, "ListIDs", got, column(vals, func(v singlecol.Val) int32 { return v.ID }))
				conform.Equal(c, "ListIDs of no rows", len(conform.Many[int32](c, q, "ListIDs", c.Ctx, int32(empty))), 0)
				return nil
			}},
			{Name: "int8", Read: true, Run: func(c *conform.C, q *singlecol.Queries) error {
				got := conform.Many[int64](c, q, "ListBigs", c.Ctx, int32(grp))
				conform.Equal(c, "ListBigs", got, []int64{1 << 40, -5, 0})
				conform.Equal(c, "ListBigs of no rows", len(conform.Many[int64](c, q, "ListBigs", c.Ctx, int32(empty))), 0)
				return nil
			}},
			{Name: "text", Read: true, Run: func(c *conform.C, q *singlecol.Queries) error {
				got := conform.Many[string](c, q, "ListLabels", c.Ctx, int32(grp))
				conform.Equal(c, "ListLabels", got, []string{"alpha", "beta", "gamma"})
				conform.Equal(c, "ListLabels of no rows", len(conform.Many[string](c, q, "ListLabels", c.Ctx, int32(empty))), 0)
				return nil
			}},
			{Name: "bool", Read: true, Run: func(c *conform.C, q *singlecol.Queries) error {
				got := conform.Many[bool](c, q, "ListFlags", c.Ctx, int32(grp))
				conform.Equal(c, "ListFlags", got, []bool{true, false, true})
				conform.Equal(c, "ListFlags of no rows", len(conform.Many[bool](c, q, "ListFlags", c.Ctx, int32(empty))), 0)
				return nil
			}},
			{Name: "numeric", Read: true, Run: func(c *conform.C, q *singlecol.Queries) error {
				got := conform.Many[pgtype.Numeric](c, q, "ListAmounts", c.Ctx, int32(grp))
				conform.Equal(c, "ListAmounts", got, column(vals, func(v singlecol.Val) pgtype.Numeric { return v.Amount }))
				if len(got) == 3 {
					conform.Equal(c, "ListAmounts as text", []string{numericText(c, got[0]), numericText(c, got[1]), numericText(c, got[2])}, []string{"12.50", "NaN", "-0.001"})
				}
				conform.Equal(c, "ListAmounts of no rows", len(conform.Many[pgtype.Numeric](c, q, "ListAmounts", c.Ctx, int32(empty))), 0)
				return nil
			}},
			{Name: "date", Read: true, Run: func(c *conform.C, q *singlecol.Queries) error {
				got := conform.Many[pgtype.Date](c, q, "ListDays", c.Ctx, int32(grp))
				conform.Equal(c, "ListDays", got, column(vals, func(v singlecol.Val) pgtype.Date { return v.Day }))
				if len(got) == 3 {
					conform.Equal(c, "ListDays infinities", []pgtype.InfinityModifier{got[1].InfinityModifier, got[2].InfinityModifier}, []pgtype.InfinityModifier{pgtype.Infinity, pgtype.NegativeInfinity})
				}
				conform.Equal(c, "ListDays of no rows", len(conform.Many[pgtype.Date](c, q, "ListDays", c.Ctx, int32(empty))), 0)
				return nil
			}},
			{Name: "text[]", Read: true, Run: func(c *conform.C, q *singlecol.Queries) error {
				got := conform.Many[[]string](c, q, "ListTags", c.Ctx, int32(grp))
				conform.Equal(c, "ListTags", got, [][]string{{"a", "b"}, {}, {"with space", `quo"te`, "NULL", ""}})
				conform.Equal(c, "ListTags of no rows", len(conform.Many[[]string](c, q, "ListTags", c.Ctx, int32(empty))), 0)
				return nil
			}},
			{Name: "int4[]", Read: true, Run: func(c *conform.C, q *singlecol.Queries) error {
				got := conform.Many[[]int32](c, q, "ListNums", c.Ctx, int32(grp))
				conform.Equal(c, "ListNums", got, [][]int32{{1, 2, 3}, {}, {-1}})
				conform.Equal(c, "ListNums of no rows", len(conform.Many[[]int32](c, q, "ListNums", c.Ctx, int32(empty))), 0)
				return nil
			}},
			{Name: "nullable text", Read: true, Run: func(c *conform.C, q *singlecol.Queries) error {
				got := conform.Many[pgtype.Text](c, q, "ListNotes", c.Ctx, int32(grp))
				conform.Equal(c, "ListNotes", got, []pgtype.Text{{String: "first", Valid: true}, {}, {Valid: true}})
				conform.Equal(c, "ListNotes of no rows", len(conform.Many[pgtype.Text](c, q, "ListNotes", c.Ctx, int32(empty))), 0)
				return nil
			}},
			{Name: "expression", Read: true, Run: func(c *conform.C, q *singlecol.Queries) error {
				got := conform.Many[int32](c, q, "ListDoubled", c.Ctx, int32(grp))
				conform.Equal(c, "ListDoubled", got, column(vals, func(v singlecol.Val) int32 { return 2 * v.ID }))
				conform.Equal(c, "ListDoubled of no rows", len(conform.Many[int32](c, q, "ListDoubled", c.Ctx, int32(empty))), 0)
				return nil
			}},
			{Name: "unnamed expression of unknown type", Read: true, Run: func(c *conform.C, q *singlecol.Queries) error {
				got := conform.Many[interface{}](c, q, "ListUpperLabels", c.Ctx, int32(grp))
				conform.Equal(c, "ListUpperLabels", got, []interface{}{"ALPHA", "BETA", "GAMMA"})
				conform.Equal(c, "ListUpperLabels of no rows", len(conform.Many[interface{}](c, q, "ListUpperLabels", c.Ctx, int32(empty))), 0)
				return nil
			}},
			{Name: "column yield, parameter zero", Read: true, Run: func(c *conform.C, q *singlecol.Queries) error {
				got := conform.Many[string](c, q, "ListYields", c.Ctx, int32(0))
				conform.Equal(c, "ListYields", got, []string{"y1", "y2"})
				conform.Equal(c, "ListYields of no rows", len(conform.Many[string](c, q, "ListYields", c.Ctx, int32(99))), 0)
				return nil
			}},
			{Name: "column zero, parameter yield", Read: true, Run: func(c *conform.C, q *singlecol.Queries) error {
				got := conform.Many[int32](c, q, "ListZeros", c.Ctx, "y1")
				conform.Equal(c, "ListZeros", got, []int32{0, 7})
				conform.Equal(c, "ListZeros of no rows", len(conform.Many[int32](c, q, "ListZeros", c.Ctx, "nope")), 0)
				return nil
			}},
			{Name: "column err", Read: true, Run: func(c *conform.C, q *singlecol.Queries) error {
				got := conform.Many[string](c, q, "ListErrs", c.Ctx, int32(grp))
				conform.Equal(c, "ListErrs", got, []string{"e1", "", "e3"})
				conform.Equal(c, "ListErrs of no rows", len(conform.Many[string](c, q, "ListErrs", c.Ctx, int32(empty))), 0)
				return nil
			}},
			{Name: ":one of an array", Read: true, Run: func(c *conform.C, q *singlecol.Queries) error {
				tags, err := q.GetTags(c.Ctx, vals[0].ID)
				conform.NoErr(c, "GetTags", err)
				conform.Equal(c, "GetTags", tags, []string{"a", "b"})
				tags, err = q.GetTags(c.Ctx, vals[1].ID)
				conform.NoErr(c, "GetTags", err)
				conform.Equal(c, "GetTags of an empty array", tags, []string{})
				nums, err := q.GetNums(c.Ctx, vals[0].ID)
				conform.NoErr(c, "GetNums", err)
				conform.Equal(c, "GetNums", nums, []int32{1, 2, 3})
				_, err = q.GetTags(c.Ctx, -1)
				conform.WantNotFound(c, err, "GetTags")
				_, err = q.GetNums(c.Ctx, -1)
				conform.WantNotFound(c, err, "GetNums")
				return nil
			}},
			{Name: "count", Read: true, Run: func(c *conform.C, q *singlecol.Queries) error {
				n, err := q.CountVals(c.Ctx, grp)
				conform.NoErr(c, "CountVals", err)
				conform.Equal(c, "CountVals", n, int64(3))
				n, err = q.CountVals(c.Ctx, empty)
				conform.NoErr(c, "CountVals", err)
				conform.Equal(c, "CountVals of no rows", n, int64(0))
				return nil
			}},
		}
	})
}

// TestNoStreamOfOne: the :one queries returning an array (a slice, as a
// :many's result is) got no stream: they are not :many.
func TestNoStreamOfOne(t *testing.T) {
	typ := reflect.TypeFor[*singlecol.Queries]()
	for _, name := range []string{"GetTags", "GetNums"} {
		if _, ok := typ.MethodByName(name); !ok {
			t.Errorf("no %s", name)
		}
		if _, ok := typ.MethodByName(name + "Stream"); ok {
			t.Errorf("%s is a :one but has a %sStream", name, name)
		}
	}
}
