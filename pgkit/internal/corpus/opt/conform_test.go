package opt_test

import (
	"context"
	"embed"
	"errors"
	"os"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shopdb/shopdb/pgkit/internal/corpus/conform"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/opt"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

//go:embed migrations/*.sql
var migrations embed.FS

func TestMain(m *testing.M) { os.Exit(pgkittest.Run(m)) }

func text(s string) pgtype.Text { return pgtype.Text{String: s, Valid: true} }

// The public methods take the DB, as sqlc's do under
// emit_methods_with_db_argument; Streamer has the public stream.
var _ interface {
	UserFind(context.Context, opt.DBTX, int64) (opt.User, bool, error)
} = opt.New()

var _ opt.Streamer = opt.New()

func TestConformance(t *testing.T) {
	p := conform.Package{Migrations: conform.Migrations(migrations), Queries: (*opt.Queries)(nil), Batch: (*opt.Batch)(nil), Decoders: opt.Decoders()}
	queries := opt.New()
	conform.Run(t, p, func(d opt.DBTX) opt.DBTX { return d }, func() []conform.Step[opt.DBTX] {
		var red opt.Team
		var ada, bob opt.User
		return []conform.Step[opt.DBTX]{
			{Name: "create", Run: func(c *conform.C, db opt.DBTX) error {
				var err error
				red, err = queries.CreateTeam(c.Ctx, db, "red")
				conform.NoErr(c, "CreateTeam", err)
				var ok bool
				ada, ok, err = queries.UserClaim(c.Ctx, db, opt.UserClaimParams{Email: "ada@example.com", Nickname: text("ada"), TeamID: pgtype.Int8{Int64: red.ID, Valid: true}})
				conform.NoErr(c, "UserClaim", err)
				conform.Equal(c, "UserClaim (new email) found", ok, true)
				conform.Equal(c, "UserClaim's row", ada.Email, "ada@example.com")
				bob, ok, err = queries.UserClaim(c.Ctx, db, opt.UserClaimParams{Email: "bob@example.com"})
				conform.NoErr(c, "UserClaim", err)
				conform.Equal(c, "UserClaim (Bob) found", ok, true)
				// A taken email: ON CONFLICT DO NOTHING returns no row.
				again, ok, err := queries.UserClaim(c.Ctx, db, opt.UserClaimParams{Email: "ada@example.com", Nickname: text("other")})
				conform.NoErr(c, "UserClaim (taken email)", err)
				conform.Equal(c, "UserClaim (taken email) found", ok, false)
				conform.Equal(c, "UserClaim (taken email) row", again, opt.User{})
				return nil
			}},
			{Name: "unique violation stays an error", Run: func(c *conform.C, db opt.DBTX) error {
				_, ok, err := queries.UserClaim(c.Ctx, db, opt.UserClaimParams{Email: "cy@example.com", Nickname: text("ada")})
				if ok {
					c.Errorf("UserClaim (taken nickname) (%s): found", c.Mode)
				}
				conform.WantConstraint(c, err, "UserClaim", pgerr.ConstraintUnique, "users_nickname_key")
				return err
			}},
			{Name: "model row", Read: true, Run: func(c *conform.C, db opt.DBTX) error {
				got, ok := conform.Opt[opt.User](c, queries, "UserFind", c.Ctx, db, ada.ID)
				conform.Equal(c, "UserFind (Ada) found", ok, true)
				conform.Equal(c, "UserFind (Ada)", got, ada)
				_, ok = conform.Opt[opt.User](c, queries, "UserFind", c.Ctx, db, int64(-1))
				conform.Equal(c, "UserFind (no such user) found", ok, false)
				return nil
			}},
			{Name: "custom row", Read: true, Run: func(c *conform.C, db opt.DBTX) error {
				got, ok := conform.Opt[opt.UserFindByEmailRow](c, queries, "UserFindByEmail", c.Ctx, db, "ADA@example.com")
				conform.Equal(c, "UserFindByEmail found", ok, true)
				conform.Equal(c, "UserFindByEmail", got, opt.UserFindByEmailRow{ID: ada.ID, Email: ada.Email, Nickname: text("ada")})
				_, ok = conform.Opt[opt.UserFindByEmailRow](c, queries, "UserFindByEmail", c.Ctx, db, "nobody@example.com")
				conform.Equal(c, "UserFindByEmail (nobody) found", ok, false)
				return nil
			}},
			{Name: "single column", Read: true, Run: func(c *conform.C, db opt.DBTX) error {
				email, ok := conform.Opt[string](c, queries, "UserEmail", c.Ctx, db, bob.ID)
				conform.Equal(c, "UserEmail (Bob)", []any{email, ok}, []any{"bob@example.com", true})
				email, ok = conform.Opt[string](c, queries, "UserEmail", c.Ctx, db, int64(-1))
				conform.Equal(c, "UserEmail (nobody)", []any{email, ok}, []any{"", false})
				// A NULL column is a row: found, with a NULL value.
				nick, ok := conform.Opt[pgtype.Text](c, queries, "UserNickname", c.Ctx, db, bob.ID)
				conform.Equal(c, "UserNickname (Bob has none)", []any{nick, ok}, []any{pgtype.Text{}, true})
				_, ok = conform.Opt[pgtype.Text](c, queries, "UserNickname", c.Ctx, db, int64(-1))
				conform.Equal(c, "UserNickname (nobody) found", ok, false)
				return nil
			}},
			{Name: "nullable embed", Read: true, Run: func(c *conform.C, db opt.DBTX) error {
				got, ok := conform.Opt[opt.UserWithTeamRow](c, queries, "UserWithTeam", c.Ctx, db, ada.ID)
				conform.Equal(c, "UserWithTeam (Ada)", []any{got, ok}, []any{opt.UserWithTeamRow{User: ada, Team: &red}, true})
				got, ok = conform.Opt[opt.UserWithTeamRow](c, queries, "UserWithTeam", c.Ctx, db, bob.ID)
				conform.Equal(c, "UserWithTeam (Bob: no team)", []any{got, ok}, []any{opt.UserWithTeamRow{User: bob}, true})
				_, ok = conform.Opt[opt.UserWithTeamRow](c, queries, "UserWithTeam", c.Ctx, db, int64(-1))
				conform.Equal(c, "UserWithTeam (nobody) found", ok, false)
				all := conform.Many[opt.UsersWithTeamsRow](c, queries, "UsersWithTeams", c.Ctx, db)
				conform.Equal(c, "UsersWithTeams", all, []opt.UsersWithTeamsRow{{User: ada, Team: &red}, {User: bob}})
				return nil
			}},
			{Name: "a sort taking the DB", Read: true, Run: func(c *conform.C, db opt.DBTX) error {
				byEmail := conform.Many[opt.User](c, queries, "Users", c.Ctx, db, opt.UsersSortEmail)
				conform.Equal(c, "Users by email", byEmail, []opt.User{ada, bob})
				newest := conform.Many[opt.User](c, queries, "Users", c.Ctx, db, opt.UsersSortNewest)
				conform.Equal(c, "Users newest", newest, []opt.User{bob, ada})
				return nil
			}},
			{Name: "a cancelled context is an error", Read: true, Run: func(c *conform.C, db opt.DBTX) error {
				dead, cancel := context.WithCancel(c.Ctx)
				cancel()
				_, ok, err := queries.UserFind(dead, db, ada.ID)
				if ok || !errors.Is(err, context.Canceled) {
					c.Errorf("UserFind on a cancelled context (%s): %v, %v; want context.Canceled", c.Mode, ok, err)
				}
				// pgkit's typed error names the public query, not pgkitUserFind.
				var qe *pgerr.QueryError
				if !errors.As(err, &qe) || qe.Query != "UserFind" {
					c.Errorf("UserFind on a cancelled context (%s): %v, want a *pgerr.QueryError of query UserFind", c.Mode, err)
				}
				return nil
			}},
		}
	})
}
