package types_test

import (
	"embed"
	"os"
	"slices"
	"testing"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/conform"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/types"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

//go:embed migrations/*.sql
var migrations embed.FS

func TestMain(m *testing.M) { os.Exit(pgkittest.Run(m)) }

func TestConformance(t *testing.T) {
	p := conform.Package{
		Migrations: conform.Migrations(migrations),
		Queries:    (*types.Queries)(nil),
		Batch:      (*types.Batch)(nil),
		Decoders:   types.Decoders(),
		Config:     pgkit.Config{AfterConnect: types.RegisterTypes},
	}
	conform.Run(t, p, types.New, func() []conform.Step[*types.Queries] {
		var ada, bob types.Person
		return []conform.Step[*types.Queries]{
			{Name: "create", Run: func(c *conform.C, q *types.Queries) error {
				var err error
				ada, err = q.PersonCreate(c.Ctx, types.PersonCreateParams{
					Name: "Ada", Mood: types.MoodHappy, Moods: []types.Mood{types.MoodOk, types.MoodHappy},
					LastMood: types.NullMood{Mood: types.MoodSad, Valid: true}, Email: "ada@example.com",
					Home: &types.Address{Street: "1 Engine Row", City: "London"},
					Past: []types.Address{{Street: "2 Loom St", City: "Leeds"}, {Street: "", City: "Bath"}},
				})
				conform.NoErr(c, "PersonCreate", err)
				conform.Equal(c, "Ada's moods", ada.Moods, []types.Mood{types.MoodOk, types.MoodHappy})
				conform.Equal(c, "Ada's home", *ada.Home, types.Address{Street: "1 Engine Row", City: "London"})
				conform.Equal(c, "Ada's past", ada.Past, []types.Address{{Street: "2 Loom St", City: "Leeds"}, {Street: "", City: "Bath"}})
				conform.Equal(c, "Ada's last mood", ada.LastMood, types.NullMood{Mood: types.MoodSad, Valid: true})
				bob, err = q.PersonCreate(c.Ctx, types.PersonCreateParams{
					Name: "Bob", Mood: types.MoodSad, Moods: []types.Mood{}, Email: "bob@example.com", Past: []types.Address{},
				})
				conform.NoErr(c, "PersonCreate", err)
				conform.Equal(c, "Bob's home", bob.Home, (*types.Address)(nil))
				conform.Equal(c, "Bob's last mood", bob.LastMood.Valid, false)
				conform.Equal(c, "Bob's moods", len(bob.Moods), 0)
				return nil
			}},
			{Name: "domain check", Run: func(c *conform.C, q *types.Queries) error {
				_, err := q.PersonCreate(c.Ctx, types.PersonCreateParams{Name: "Eve", Mood: types.MoodOk, Moods: []types.Mood{}, Email: "no at sign", Past: []types.Address{}})
				conform.WantConstraint(c, err, "PersonCreate", pgerr.ConstraintCheck, "email_check")
				return err
			}},
			{Name: "enum values", Read: true, Run: func(c *conform.C, q *types.Queries) error {
				conform.Equal(c, "AllMoodValues", types.AllMoodValues(), []types.Mood{types.MoodSad, types.MoodOk, types.MoodHappy})
				conform.Equal(c, "Mood(angry).Valid", types.Mood("angry").Valid(), false)
				return nil
			}},
			{Name: "get", Read: true, Run: func(c *conform.C, q *types.Queries) error {
				got, err := q.PersonGet(c.Ctx, ada.ID)
				conform.NoErr(c, "PersonGet", err)
				conform.Equal(c, "PersonGet", got, ada)
				_, err = q.PersonGet(c.Ctx, -1)
				conform.WantNotFound(c, err, "PersonGet")
				return nil
			}},
			{Name: "list", Read: true, Run: func(c *conform.C, q *types.Queries) error {
				conform.Equal(c, "PersonList", conform.Many[types.Person](c, q, "PersonList", c.Ctx), []types.Person{ada, bob})
				conform.Equal(c, "PersonListByMoods", conform.Many[types.Person](c, q, "PersonListByMoods", c.Ctx, []types.Mood{types.MoodHappy, types.MoodOk}), []types.Person{ada})
				conform.Equal(c, "PersonListByMoods of none", len(conform.Many[types.Person](c, q, "PersonListByMoods", c.Ctx, []types.Mood{})), 0)
				return nil
			}},
			{Name: "single columns", Read: true, Run: func(c *conform.C, q *types.Queries) error {
				conform.Equal(c, "PersonMood", conform.Many[types.Mood](c, q, "PersonMood", c.Ctx), []types.Mood{types.MoodHappy, types.MoodSad})
				moods := conform.Many[[]types.Mood](c, q, "PersonMoods", c.Ctx)
				if len(moods) != 2 || !slices.Equal(moods[0], ada.Moods) || len(moods[1]) != 0 {
					c.Errorf("PersonMoods (%s): %v", c.Mode, moods)
				}
				conform.Equal(c, "PersonLastMoods", conform.Many[types.NullMood](c, q, "PersonLastMoods", c.Ctx), []types.NullMood{ada.LastMood, {}})
				conform.Equal(c, "PersonHomes", conform.Many[*types.Address](c, q, "PersonHomes", c.Ctx), []*types.Address{ada.Home, nil})
				conform.Equal(c, "PersonEmails", conform.Many[string](c, q, "PersonEmails", c.Ctx), []string{"ada@example.com", "bob@example.com"})
				return nil
			}},
		}
	})
}
