package types_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/conform"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/types"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// TestCopySameRowsEveryWay: rows of the registered types (the enum, which
// the typed source hands pgx as its string; an enum array; a nullable
// enum; the domain; the composite behind a pointer, nil, zero and with
// characters a composite literal quotes; an array of it) stored through
// the typed source (pooled, multiplexed, in a transaction, the Seq) and
// through pgx with the rows' own values (sqlc's iterator on raw pgx,
// pgx.CopyFromSlice) are identical.
func TestCopySameRowsEveryWay(t *testing.T) {
	t.Parallel()
	rows := []types.PersonCopyParams{
		{Name: "all", Mood: types.MoodHappy, Moods: types.AllMoodValues(), LastMood: types.NullMood{Mood: types.MoodSad, Valid: true},
			Email: "a@b.c", Home: &types.Address{Street: `1 "Quoted", (Row) \ St`, City: "Zürich"}, Past: []types.Address{{}, {Street: "x", City: "NULL"}}},
		{Name: "none", Mood: types.MoodSad, Moods: []types.Mood{}, Email: "n@o.ne", Past: []types.Address{}},
		{Name: "zero home", Mood: types.MoodOk, Moods: []types.Mood{types.MoodOk, types.MoodOk}, Email: strings.Repeat("x", 1000) + "@y.z", Home: &types.Address{}, Past: []types.Address{}},
	}
	url := pgkittest.URL(t, conform.Migrations(migrations))
	open := func(cfg pgkit.Config) *pgkit.DB {
		cfg.AfterConnect = types.RegisterTypes
		d, err := pgkit.Open(t.Context(), url, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(d.Close)
		return d
	}
	db := open(pgkit.Config{MaxConns: 4})
	muxed := open(pgkit.Config{MaxConns: 3, Multiplex: true})
	columns := []string{"name", "mood", "moods", "last_mood", "email", "home", "past"}
	conform.SameCopies(t, db, `TRUNCATE people RESTART IDENTITY`,
		`SELECT row(name, mood, moods, last_mood, email, home, past)::text FROM people ORDER BY id`, int64(len(rows)),
		conform.Load{Name: "pgx.CopyFromSlice of the rows' values on raw pgx", Run: func(ctx context.Context, db *pgkit.DB) (int64, error) {
			return db.Pool().CopyFrom(ctx, pgx.Identifier{"people"}, columns, pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
				r := rows[i]
				return []any{r.Name, r.Mood, r.Moods, r.LastMood, r.Email, r.Home, r.Past}, nil
			}))
		}},
		conform.Load{Name: "sqlc's iterator on raw pgx", Run: func(ctx context.Context, db *pgkit.DB) (int64, error) {
			return types.New(db.Pool()).PersonCopy(ctx, rows)
		}},
		conform.Load{Name: "PersonCopy through pgkit (the typed source)", Run: func(ctx context.Context, db *pgkit.DB) (int64, error) {
			return types.New(db).PersonCopy(ctx, rows)
		}},
		conform.Load{Name: "PersonCopy multiplexed", Run: func(ctx context.Context, _ *pgkit.DB) (int64, error) {
			return types.New(muxed).PersonCopy(ctx, rows)
		}},
		conform.Load{Name: "PersonCopy in a transaction", Run: func(ctx context.Context, db *pgkit.DB) (n int64, err error) {
			err = pgkit.WithTx(ctx, db, types.New, func(q *types.Queries) error {
				n, err = q.PersonCopy(ctx, rows)
				return err
			})
			return n, err
		}},
		conform.Load{Name: "PersonCopySeq on raw pgx", Run: func(ctx context.Context, db *pgkit.DB) (int64, error) {
			return types.New(db.Pool()).PersonCopySeq(ctx, slices.Values(rows))
		}},
	)
}
