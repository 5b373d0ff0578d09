package onlybatch_test

import (
	"embed"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shopdb/shopdb/pgkit/internal/corpus/conform"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/onlybatch"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

//go:embed migrations/*.sql
var migrations embed.FS

func TestMain(m *testing.M) { os.Exit(pgkittest.Run(m)) }

// collect runs the callback loop of a :batchone or :batchmany result
// (QueryRow or Query) and returns what it passed, in order.
func collect[T any](each func(func(int, T, error))) (vals []T, errs []error) {
	n := 0
	each(func(i int, v T, err error) {
		if i != n {
			errs = append(errs, errors.New("out of order"))
		}
		n++
		vals = append(vals, v)
		errs = append(errs, err)
	})
	return vals, errs
}

// execs runs the callback loop of a :batchexec result and returns the
// errors it passed, in order.
func execs(each func(func(int, error))) []error {
	var errs []error
	each(func(_ int, err error) { errs = append(errs, err) })
	return errs
}

func noErrs(c *conform.C, what string, errs []error) {
	c.Helper()
	for i, err := range errs {
		conform.NoErr(c, fmt.Sprintf("%s #%d", what, i), err)
	}
}

func text(s string) pgtype.Text { return pgtype.Text{String: s, Valid: true} }

func TestConformance(t *testing.T) {
	p := conform.Package{Migrations: conform.Migrations(migrations), Queries: (*onlybatch.Queries)(nil)}
	conform.Run(t, p, onlybatch.New, func() []conform.Step[*onlybatch.Queries] {
		var red, green, blue onlybatch.Tag
		return []conform.Step[*onlybatch.Queries]{
			{Name: "batchone insert", Direct: true, Run: func(c *conform.C, q *onlybatch.Queries) error {
				tags, errs := collect(q.InsertTag(c.Ctx, []onlybatch.InsertTagParams{
					{Name: "red", Weight: 3, Note: text("warm")},
					{Name: "green", Weight: 1},
					{Name: "blue", Weight: 2, Note: text("cold")},
				}).QueryRow)
				noErrs(c, "InsertTag", errs)
				if len(tags) != 3 {
					c.Fatalf("InsertTag (%s): %d rows, want 3", c.Mode, len(tags))
				}
				red, green, blue = tags[0], tags[1], tags[2]
				conform.Equal(c, "red", onlybatch.Tag{ID: red.ID, Name: "red", Weight: 3, Note: text("warm")}, red)
				conform.Equal(c, "green's note (NULL)", green.Note, pgtype.Text{})
				conform.Equal(c, "ids in order", red.ID < green.ID && green.ID < blue.ID, true)
				return nil
			}},
			{Name: "batchone unique", Direct: true, Run: func(c *conform.C, q *onlybatch.Queries) error {
				_, errs := collect(q.InsertTag(c.Ctx, []onlybatch.InsertTagParams{{Name: "red", Weight: 9}}).QueryRow)
				conform.Equal(c, "InsertTag results", len(errs), 1)
				conform.WantConstraint(c, errs[0], "InsertTag", pgerr.ConstraintUnique, "tags_name_key")
				return errs[0]
			}},
			{Name: "batchone check", Direct: true, Run: func(c *conform.C, q *onlybatch.Queries) error {
				_, errs := collect(q.InsertTag(c.Ctx, []onlybatch.InsertTagParams{{Name: "weightless", Weight: 0}}).QueryRow)
				conform.Equal(c, "InsertTag results", len(errs), 1)
				conform.WantConstraint(c, errs[0], "InsertTag", pgerr.ConstraintCheck, "tags_weight_check")
				return errs[0]
			}},
			{Name: "batchexec insert", Direct: true, Run: func(c *conform.C, q *onlybatch.Queries) error {
				errs := execs(q.AddAlias(c.Ctx, []onlybatch.AddAliasParams{
					{TagID: red.ID, Alias: "scarlet"}, {TagID: red.ID, Alias: "crimson"}, {TagID: blue.ID, Alias: "azure"},
				}).Exec)
				conform.Equal(c, "AddAlias errors", errs, []error{nil, nil, nil})
				return nil
			}},
			{Name: "batchexec foreign key", Direct: true, Run: func(c *conform.C, q *onlybatch.Queries) error {
				errs := execs(q.AddAlias(c.Ctx, []onlybatch.AddAliasParams{{TagID: -1, Alias: "nothing"}}).Exec)
				conform.Equal(c, "AddAlias results", len(errs), 1)
				conform.WantConstraint(c, errs[0], "AddAlias", pgerr.ConstraintForeignKey, "aliases_tag_id_fkey")
				return errs[0]
			}},
			{Name: "batchone select and not found", Direct: true, Run: func(c *conform.C, q *onlybatch.Queries) error {
				tags, errs := collect(q.GetTag(c.Ctx, []int64{blue.ID, -1, red.ID}).QueryRow)
				conform.Equal(c, "GetTag results", len(errs), 3)
				conform.NoErr(c, "GetTag #0", errs[0])
				conform.WantNotFound(c, errs[1], "GetTag")
				conform.NoErr(c, "GetTag #2", errs[2])
				conform.Equal(c, "GetTag", []onlybatch.Tag{tags[0], tags[2]}, []onlybatch.Tag{blue, red})
				names, errs := collect(q.GetTagName(c.Ctx, []int64{green.ID}).QueryRow)
				noErrs(c, "GetTagName", errs)
				conform.Equal(c, "GetTagName", names, []string{"green"})
				return nil
			}},
			{Name: "batchmany", Direct: true, Run: func(c *conform.C, q *onlybatch.Queries) error {
				aliases, errs := collect(q.ListAliases(c.Ctx, []int64{red.ID, green.ID, blue.ID}).Query)
				noErrs(c, "ListAliases", errs)
				conform.Equal(c, "ListAliases", aliases, [][]string{{"crimson", "scarlet"}, nil, {"azure"}})
				tags, errs := collect(q.ListTagsHeavierThan(c.Ctx, []int32{1, 2, 3}).Query)
				noErrs(c, "ListTagsHeavierThan", errs)
				conform.Equal(c, "ListTagsHeavierThan", tags, [][]onlybatch.Tag{{blue, red}, {red}, nil})
				return nil
			}},
			{Name: "empty batch", Direct: true, Run: func(c *conform.C, q *onlybatch.Queries) error {
				tags, errs := collect(q.ListTagsHeavierThan(c.Ctx, nil).Query)
				conform.Equal(c, "ListTagsHeavierThan of no weights", len(tags)+len(errs), 0)
				conform.Equal(c, "DeleteAliases of no tags", len(execs(q.DeleteAliases(c.Ctx, nil).Exec)), 0)
				return nil
			}},
			{Name: "closed before read", Direct: true, Run: func(c *conform.C, q *onlybatch.Queries) error {
				br := q.GetTag(c.Ctx, []int64{red.ID, blue.ID})
				conform.NoErr(c, "Close", br.Close())
				_, errs := collect(br.QueryRow)
				conform.Equal(c, "GetTag after Close", errs, []error{onlybatch.ErrBatchAlreadyClosed, onlybatch.ErrBatchAlreadyClosed})
				return nil
			}},
			{Name: "batchexec delete", Direct: true, Run: func(c *conform.C, q *onlybatch.Queries) error {
				errs := execs(q.DeleteAliases(c.Ctx, []int64{red.ID, green.ID}).Exec)
				conform.Equal(c, "DeleteAliases errors", errs, []error{nil, nil})
				aliases, errs := collect(q.ListAliases(c.Ctx, []int64{red.ID, blue.ID}).Query)
				noErrs(c, "ListAliases", errs)
				conform.Equal(c, "ListAliases after DeleteAliases", aliases, [][]string{nil, {"azure"}})
				return nil
			}},
		}
	})
}
