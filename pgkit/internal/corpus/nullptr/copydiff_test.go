package nullptr_test

import (
	"context"
	"math"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/conform"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/nullptr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

var profileColumns = []string{"handle", "nickname", "age", "visits", "active", "rating", "balance", "seen_at", "born", "token", "avatar", "prefs"}

// extremeProfiles are rows of every column type of profiles: all NULL,
// pointers to zero values, the extremes of each type, and text that
// COPY's text format would have to escape.
func extremeProfiles() []nullptr.CopyProfilesParams {
	ts := func(t time.Time) pgtype.Timestamptz { return pgtype.Timestamptz{Time: t, Valid: true} }
	rows := []nullptr.CopyProfilesParams{
		copyOf(adaParams),
		{Handle: "nulls"},
		{Handle: "zeros", Nickname: ptr(""), Age: ptr(int32(0)), Visits: ptr(int64(0)), Active: ptr(false), Rating: ptr(0.0),
			Balance: pgtype.Numeric{Int: big.NewInt(0), Valid: true}, SeenAt: ts(time.Unix(0, 0).UTC()), Born: pgtype.Date{Time: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), Valid: true},
			Token: pgtype.UUID{Valid: true}, Avatar: []byte{}, Prefs: []byte(`null`)},
		{Handle: "min", Nickname: ptr("\\N\t\n\r\"'\x01"), Age: ptr(int32(math.MinInt32)), Visits: ptr(int64(math.MinInt64)), Active: ptr(true), Rating: ptr(-math.MaxFloat64),
			Balance: pgtype.Numeric{Int: big.NewInt(math.MinInt64), Exp: -30, Valid: true}, SeenAt: pgtype.Timestamptz{InfinityModifier: pgtype.NegativeInfinity, Valid: true},
			Born: pgtype.Date{InfinityModifier: pgtype.NegativeInfinity, Valid: true}, Token: pgtype.UUID{Bytes: [16]byte{15: 1}, Valid: true}, Avatar: []byte{0}, Prefs: []byte(`{}`)},
		{Handle: "max", Nickname: ptr(strings.Repeat("é✓", 50000)), Age: ptr(int32(math.MaxInt32)), Visits: ptr(int64(math.MaxInt64)), Active: ptr(true), Rating: ptr(math.MaxFloat64),
			Balance: pgtype.Numeric{Int: new(big.Int).Lsh(big.NewInt(1), 300), Exp: 10, Valid: true}, SeenAt: pgtype.Timestamptz{InfinityModifier: pgtype.Infinity, Valid: true},
			Born: pgtype.Date{Time: time.Date(5874897, 12, 31, 0, 0, 0, 0, time.UTC), Valid: true}, Token: pgtype.UUID{Bytes: [16]byte{0: 0xff, 15: 0xff}, Valid: true},
			Avatar: []byte(strings.Repeat("\xff\x00", 1<<15)), Prefs: []byte(`{"deep":[[[[1]]]],"s":"\u00e9"}`)},
		{Handle: "odd floats", Rating: ptr(math.Copysign(0, -1)), Balance: pgtype.Numeric{NaN: true, Valid: true}, SeenAt: ts(time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC))},
		{Handle: "inf", Rating: ptr(math.Inf(1)), SeenAt: ts(time.Date(294276, 12, 31, 23, 59, 59, 999999000, time.UTC))},
		{Handle: "-inf", Rating: ptr(math.Inf(-1))},
		{Handle: "nan", Rating: ptr(math.NaN())},
		{Handle: "tiny", Rating: ptr(math.SmallestNonzeroFloat64)},
	}
	return rows
}

// pointerValues is one row's values as sqlc's iterator hands them to
// pgx: its pointers as they are.
func pointerValues(r nullptr.CopyProfilesParams) []any {
	return []any{r.Handle, r.Nickname, r.Age, r.Visits, r.Active, r.Rating, r.Balance, r.SeenAt, r.Born, r.Token, r.Avatar, r.Prefs}
}

// TestCopySameRowsEveryWay: the same rows stored through the generated
// typed source (sqlc's CopyProfiles through pgkit, CopyProfilesSeq through
// pgkit and on raw pgx, pooled, multiplexed, in a transaction) and through
// pgx with the rows' pointers, dereferenced by reflection (sqlc's
// iterator on raw pgx, pgx.CopyFromSlice), are identical, column by
// column.
func TestCopySameRowsEveryWay(t *testing.T) {
	t.Parallel()
	rows := extremeProfiles()
	n := int64(len(rows))
	url := pgkittest.URL(t, conform.Migrations(migrations))
	open := func(cfg pgkit.Config) *pgkit.DB {
		d, err := pgkit.Open(t.Context(), url, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(d.Close)
		return d
	}
	db := open(pgkit.Config{MaxConns: 4})
	muxed := open(pgkit.Config{MaxConns: 3, Multiplex: true})
	slice := func(ctx context.Context, x interface {
		CopyFrom(context.Context, pgx.Identifier, []string, pgx.CopyFromSource) (int64, error)
	}) (int64, error) {
		return x.CopyFrom(ctx, pgx.Identifier{"profiles"}, profileColumns, pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
			return pointerValues(rows[i]), nil
		}))
	}
	conform.SameCopies(t, db, `TRUNCATE profiles RESTART IDENTITY`,
		`SELECT row(handle, nickname, age, visits, active, rating, balance, seen_at, born, token, avatar, prefs)::text FROM profiles ORDER BY id`, n,
		conform.Load{Name: "pgx.CopyFromSlice of the pointers on raw pgx", Run: func(ctx context.Context, db *pgkit.DB) (int64, error) {
			return slice(ctx, db.Pool())
		}},
		conform.Load{Name: "sqlc's iterator on raw pgx", Run: func(ctx context.Context, db *pgkit.DB) (int64, error) {
			return nullptr.New(db.Pool()).CopyProfiles(ctx, rows)
		}},
		conform.Load{Name: "CopyProfiles through pgkit (the typed source)", Run: func(ctx context.Context, db *pgkit.DB) (int64, error) {
			return nullptr.New(db).CopyProfiles(ctx, rows)
		}},
		conform.Load{Name: "CopyProfiles multiplexed", Run: func(ctx context.Context, _ *pgkit.DB) (int64, error) {
			return nullptr.New(muxed).CopyProfiles(ctx, rows)
		}},
		conform.Load{Name: "CopyProfiles in a transaction", Run: func(ctx context.Context, db *pgkit.DB) (n int64, err error) {
			err = pgkit.WithTx(ctx, db, nullptr.New, func(q *nullptr.Queries) error {
				n, err = q.CopyProfiles(ctx, rows)
				return err
			})
			return n, err
		}},
		conform.Load{Name: "CopyProfilesSeq through pgkit", Run: func(ctx context.Context, db *pgkit.DB) (int64, error) {
			return nullptr.New(db).CopyProfilesSeq(ctx, slices.Values(rows))
		}},
		conform.Load{Name: "CopyProfilesSeq on raw pgx", Run: func(ctx context.Context, db *pgkit.DB) (int64, error) {
			return nullptr.New(db.Pool()).CopyProfilesSeq(ctx, slices.Values(rows))
		}},
		conform.Load{Name: "pgx.CopyFromSlice of the pointers through pgkit (dereferenced by pgkit)", Run: func(ctx context.Context, db *pgkit.DB) (int64, error) {
			return slice(ctx, db)
		}},
	)
}
