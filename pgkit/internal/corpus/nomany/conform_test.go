package nomany_test

import (
	"embed"
	"errors"
	"os"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shopdb/shopdb/pgkit/internal/corpus/conform"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/nomany"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

//go:embed migrations/*.sql
var migrations embed.FS

func TestMain(m *testing.M) { os.Exit(pgkittest.Run(m)) }

func text(s string) pgtype.Text { return pgtype.Text{String: s, Valid: true} }

func TestConformance(t *testing.T) {
	p := conform.Package{Migrations: conform.Migrations(migrations), Queries: (*nomany.Queries)(nil), Batch: (*nomany.Batch)(nil), Decoders: nomany.Decoders()}
	conform.Run(t, p, nomany.New, func() []conform.Step[*nomany.Queries] {
		var hits, misses nomany.Counter
		return []conform.Step[*nomany.Queries]{
			{Name: "create", Run: func(c *conform.C, q *nomany.Queries) error {
				var err error
				hits, err = q.CreateCounter(c.Ctx, nomany.CreateCounterParams{Name: "hits", Label: text("Hits")})
				conform.NoErr(c, "CreateCounter", err)
				conform.Equal(c, "hits", hits, nomany.Counter{Name: "hits", Label: text("Hits")})
				misses, err = q.CreateCounter(c.Ctx, nomany.CreateCounterParams{Name: "misses"})
				conform.NoErr(c, "CreateCounter", err)
				conform.Equal(c, "misses' label (NULL)", misses.Label, pgtype.Text{})
				return nil
			}},
			{Name: "unique (primary key)", Run: func(c *conform.C, q *nomany.Queries) error {
				_, err := q.CreateCounter(c.Ctx, nomany.CreateCounterParams{Name: "hits"})
				conform.WantConstraint(c, err, "CreateCounter", pgerr.ConstraintUnique, "counters_pkey")
				return err
			}},
			{Name: "unique on :exec", Run: func(c *conform.C, q *nomany.Queries) error {
				err := q.SetLabel(c.Ctx, nomany.SetLabelParams{Name: "misses", Label: text("Hits")})
				conform.WantConstraint(c, err, "SetLabel", pgerr.ConstraintUnique, "counters_label_key")
				return err
			}},
			{Name: "check on :execrows", Run: func(c *conform.C, q *nomany.Queries) error {
				_, err := q.Add(c.Ctx, nomany.AddParams{Name: "hits", Delta: -1})
				conform.WantConstraint(c, err, "Add", pgerr.ConstraintCheck, "counters_value_check")
				return err
			}},
			{Name: "not found", Read: true, Run: func(c *conform.C, q *nomany.Queries) error {
				_, err := q.GetCounter(c.Ctx, "nothing")
				conform.WantNotFound(c, err, "GetCounter")
				_, err = q.GetValue(c.Ctx, "nothing")
				conform.WantNotFound(c, err, "GetValue")
				return nil
			}},
			{Name: "get", Read: true, Run: func(c *conform.C, q *nomany.Queries) error {
				got, err := q.GetCounter(c.Ctx, "misses")
				conform.NoErr(c, "GetCounter", err)
				conform.Equal(c, "GetCounter", got, misses)
				n, err := q.CountCounters(c.Ctx)
				conform.NoErr(c, "CountCounters", err)
				conform.Equal(c, "CountCounters", n, int64(2))
				return nil
			}},
			{Name: "execrows", Run: func(c *conform.C, q *nomany.Queries) error {
				n, err := q.Add(c.Ctx, nomany.AddParams{Name: "hits", Delta: 5})
				conform.NoErr(c, "Add", err)
				conform.Equal(c, "rows added to", n, int64(1))
				n, err = q.Add(c.Ctx, nomany.AddParams{Name: "nothing", Delta: 5})
				conform.NoErr(c, "Add to nothing", err)
				conform.Equal(c, "rows added to", n, int64(0))
				v, err := q.GetValue(c.Ctx, "hits")
				conform.NoErr(c, "GetValue", err)
				conform.Equal(c, "hits' value", v, int64(5))
				return nil
			}},
			{Name: "exec with a NULL (sqlc.narg)", Run: func(c *conform.C, q *nomany.Queries) error {
				conform.NoErr(c, "SetLabel", q.SetLabel(c.Ctx, nomany.SetLabelParams{Name: "hits"}))
				got, err := q.GetCounter(c.Ctx, "hits")
				conform.NoErr(c, "GetCounter", err)
				conform.Equal(c, "hits after SetLabel NULL", got, nomany.Counter{Name: "hits", Value: 5})
				return nil
			}},
			{Name: "Store.RunInTx", Direct: true, Run: func(c *conform.C, q *nomany.Queries) error {
				errUndo := errors.New("undo")
				var s nomany.Store = q
				err := s.RunInTx(c.Ctx, func(tx nomany.Store) error {
					if _, err := tx.Add(c.Ctx, nomany.AddParams{Name: "misses", Delta: 100}); err != nil {
						return err
					}
					return errUndo
				})
				conform.Equal(c, "RunInTx's error", errors.Is(err, errUndo), true)
				err = s.RunInTx(c.Ctx, func(tx nomany.Store) error {
					_, err := tx.Add(c.Ctx, nomany.AddParams{Name: "misses", Delta: 2})
					return err
				})
				conform.NoErr(c, "RunInTx", err)
				v, err := q.GetValue(c.Ctx, "misses")
				conform.NoErr(c, "GetValue", err)
				conform.Equal(c, "misses after one rolled back and one committed RunInTx", v, int64(2))
				return nil
			}},
			{Name: "delete", Run: func(c *conform.C, q *nomany.Queries) error {
				n, err := q.DeleteCounter(c.Ctx, "misses")
				conform.NoErr(c, "DeleteCounter", err)
				conform.Equal(c, "rows deleted", n, int64(1))
				n, err = q.DeleteCounter(c.Ctx, "misses")
				conform.NoErr(c, "DeleteCounter again", err)
				conform.Equal(c, "rows deleted again", n, int64(0))
				_, err = q.GetCounter(c.Ctx, "misses")
				conform.WantNotFound(c, err, "GetCounter")
				return nil
			}},
		}
	})
}
