package nullptr_test

import (
	"embed"
	"math/big"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shopdb/shopdb/pgkit/internal/corpus/conform"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/nullptr"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

//go:embed migrations/*.sql
var migrations embed.FS

func TestMain(m *testing.M) { os.Exit(pgkittest.Run(m)) }

func ptr[T any](v T) *T { return &v }

// nullable is how many of a profile's columns are nullable.
const nullable = 11

// adaParams sets every nullable column, some to Go's zero value (false, 0),
// which must come back as pointers to it, not as nil.
var adaParams = nullptr.CreateProfileParams{
	Handle:   "ada",
	Nickname: ptr("Ada"),
	Age:      ptr(int32(36)),
	Visits:   ptr(int64(1) << 40),
	Active:   ptr(false),
	Rating:   ptr(0.0),
	Balance:  pgtype.Numeric{Int: big.NewInt(-12345), Exp: -2, Valid: true},
	SeenAt:   pgtype.Timestamptz{Time: time.Date(2024, 2, 29, 12, 34, 56, 789012000, time.UTC), Valid: true},
	Born:     pgtype.Date{Time: time.Date(1815, 12, 10, 0, 0, 0, 0, time.UTC), Valid: true},
	Token:    pgtype.UUID{Bytes: [16]byte{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 1, 2, 3, 4, 5, 6, 7, 8}, Valid: true},
	Avatar:   []byte{0, 1, 2, 0xff},
	Prefs:    []byte(`{"theme":"dark","n":[1,2]}`),
}

// checkAda fails unless p holds adaParams.
func checkAda(c *conform.C, p nullptr.Profile) {
	c.Helper()
	a := adaParams
	conform.Equal(c, "ada's pointers", []any{p.Handle, p.Nickname, p.Age, p.Visits, p.Active, p.Rating}, []any{a.Handle, a.Nickname, a.Age, a.Visits, a.Active, a.Rating})
	if balance, err := p.Balance.Value(); err != nil || balance != "-123.45" {
		c.Errorf("ada's balance (%s): %v (%v), want -123.45", c.Mode, balance, err)
	}
	if !p.SeenAt.Valid || !p.SeenAt.Time.Equal(a.SeenAt.Time) {
		c.Errorf("ada's seen_at (%s): %+v, want %v", c.Mode, p.SeenAt, a.SeenAt.Time)
	}
	conform.Equal(c, "ada's born", p.Born, a.Born)
	conform.Equal(c, "ada's token", p.Token, a.Token)
	conform.Equal(c, "ada's avatar", p.Avatar, a.Avatar)
	conform.Equal(c, "ada's prefs (jsonb, normalized)", string(p.Prefs), `{"n": [1, 2], "theme": "dark"}`)
}

func TestConformance(t *testing.T) {
	p := conform.Package{Migrations: conform.Migrations(migrations), Queries: (*nullptr.Queries)(nil), Batch: (*nullptr.Batch)(nil), Decoders: nullptr.Decoders()}
	conform.Run(t, p, nullptr.New, func() []conform.Step[*nullptr.Queries] {
		var ada, ghost, cy, dee nullptr.Profile
		nicknames := func(c *conform.C, q *nullptr.Queries) []*string {
			return conform.Many[*string](c, q, "ListNicknames", c.Ctx)
		}
		// numNulls counts the NULL columns of the profile with id, in SQL,
		// on what q runs on (the mode's transaction or pipeline).
		numNulls := func(c *conform.C, q *nullptr.Queries, id int64) int {
			var n int
			err := q.DB().QueryRow(c.Ctx, `SELECT num_nulls(nickname, age, visits, active, rating, balance, seen_at, born, token, avatar, prefs) FROM profiles WHERE id = $1`, id).Scan(&n)
			conform.NoErr(c, "num_nulls", err)
			return n
		}
		return []conform.Step[*nullptr.Queries]{
			{Name: "create", Run: func(c *conform.C, q *nullptr.Queries) error {
				var err error
				ada, err = q.CreateProfile(c.Ctx, adaParams)
				conform.NoErr(c, "CreateProfile", err)
				checkAda(c, ada)
				ghost, err = q.CreateProfile(c.Ctx, nullptr.CreateProfileParams{Handle: "ghost"})
				conform.NoErr(c, "CreateProfile", err)
				conform.Equal(c, "a profile of NULLs", ghost, nullptr.Profile{ID: ghost.ID, Handle: "ghost"})
				// An empty bytea is not NULL.
				cy, err = q.CreateProfile(c.Ctx, nullptr.CreateProfileParams{Handle: "cy", Nickname: ptr("Cee"), Avatar: []byte{}})
				conform.NoErr(c, "CreateProfile", err)
				conform.Equal(c, "cy", cy, nullptr.Profile{ID: cy.ID, Handle: "cy", Nickname: ptr("Cee"), Avatar: []byte{}})
				conform.NoErr(c, "CreateProfileMaybeHandle", q.CreateProfileMaybeHandle(c.Ctx, ptr("dee")))
				all := conform.Many[nullptr.Profile](c, q, "ListProfiles", c.Ctx)
				if len(all) != 4 {
					c.Fatalf("ListProfiles (%s): %d profiles, want 4", c.Mode, len(all))
				}
				dee = all[3]
				conform.Equal(c, "dee", dee, nullptr.Profile{ID: dee.ID, Handle: "dee"})
				return nil
			}},
			{Name: "not null", Run: func(c *conform.C, q *nullptr.Queries) error {
				err := q.CreateProfileMaybeHandle(c.Ctx, nil)
				conform.WantConstraint(c, err, "CreateProfileMaybeHandle", pgerr.ConstraintNotNull, "handle")
				return err
			}},
			{Name: "not found", Read: true, Run: func(c *conform.C, q *nullptr.Queries) error {
				_, err := q.GetProfile(c.Ctx, -1)
				conform.WantNotFound(c, err, "GetProfile")
				return nil
			}},
			{Name: "get", Read: true, Run: func(c *conform.C, q *nullptr.Queries) error {
				for _, want := range []nullptr.Profile{ada, ghost, cy} {
					got, err := q.GetProfile(c.Ctx, want.ID)
					conform.NoErr(c, "GetProfile", err)
					conform.Equal(c, "GetProfile "+want.Handle, got, want)
				}
				got, err := q.GetProfile(c.Ctx, ada.ID)
				conform.NoErr(c, "GetProfile", err)
				checkAda(c, got)
				return nil
			}},
			{Name: "list", Read: true, Run: func(c *conform.C, q *nullptr.Queries) error {
				conform.Equal(c, "ListProfiles", conform.Many[nullptr.Profile](c, q, "ListProfiles", c.Ctx), []nullptr.Profile{ada, ghost, cy, dee})
				return nil
			}},
			{Name: "nullable single column", Read: true, Run: func(c *conform.C, q *nullptr.Queries) error {
				conform.Equal(c, "ListNicknames", nicknames(c, q), []*string{ptr("Ada"), nil, ptr("Cee"), nil})
				return nil
			}},
			{Name: "nullable parameter", Read: true, Run: func(c *conform.C, q *nullptr.Queries) error {
				got := conform.Many[string](c, q, "ListHandlesByNickname", c.Ctx, (*string)(nil))
				conform.Equal(c, "ListHandlesByNickname NULL", got, []string{"dee", "ghost"})
				got = conform.Many[string](c, q, "ListHandlesByNickname", c.Ctx, ptr("Ada"))
				conform.Equal(c, "ListHandlesByNickname Ada", got, []string{"ada"})
				got = conform.Many[string](c, q, "ListHandlesByNickname", c.Ctx, ptr("nobody"))
				conform.Equal(c, "ListHandlesByNickname nobody", len(got), 0)
				return nil
			}},
			{Name: "stored NULLs", Read: true, Run: func(c *conform.C, q *nullptr.Queries) error {
				conform.Equal(c, "NULL columns of ada", numNulls(c, q, ada.ID), 0)
				conform.Equal(c, "NULL columns of ghost", numNulls(c, q, ghost.ID), nullable)
				conform.Equal(c, "NULL columns of cy", numNulls(c, q, cy.ID), nullable-2)
				conform.Equal(c, "NULL columns of dee", numNulls(c, q, dee.ID), nullable)
				return nil
			}},
			{Name: "exec", Run: func(c *conform.C, q *nullptr.Queries) error {
				conform.NoErr(c, "SetNickname", q.SetNickname(c.Ctx, nullptr.SetNicknameParams{ID: ghost.ID, Nickname: ptr("Boo")}))
				conform.NoErr(c, "SetNickname to NULL", q.SetNickname(c.Ctx, nullptr.SetNicknameParams{ID: ada.ID}))
				conform.Equal(c, "ListNicknames after SetNickname", nicknames(c, q), []*string{nil, ptr("Boo"), ptr("Cee"), nil})
				conform.Equal(c, "NULL columns of ada after SetNickname", numNulls(c, q, ada.ID), 1)
				return nil
			}},
		}
	})
}
