package dbarg_test

import (
	"embed"
	"fmt"
	"iter"
	"os"
	"testing"

	"github.com/shopdb/shopdb/pgkit/internal/corpus/conform"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/dbarg"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

//go:embed migrations/*.sql
var migrations embed.FS

func TestMain(m *testing.M) { os.Exit(pgkittest.Run(m)) }

// With emit_methods_with_db_argument pgkitgen adds Streamer (its methods
// take the DB too) but neither DB() nor Store: the Queries hold no DB.
var (
	_ dbarg.Querier  = dbarg.New()
	_ dbarg.Streamer = dbarg.New()
)

// member is a member without its generated ID.
type member struct {
	TeamID int64
	Name   string
	Score  int32
}

func members(ms []dbarg.Member) []member {
	out := make([]member, len(ms))
	for i, m := range ms {
		out[i] = member{m.TeamID, m.Name, m.Score}
	}
	return out
}

func TestConformance(t *testing.T) {
	p := conform.Package{Migrations: conform.Migrations(migrations), Queries: (*dbarg.Queries)(nil), Batch: (*dbarg.Batch)(nil), Decoders: dbarg.Decoders()}
	queries := dbarg.New()
	conform.Run(t, p, func(d dbarg.DBTX) dbarg.DBTX { return d }, func() []conform.Step[dbarg.DBTX] {
		var red, blue, empty dbarg.Team
		var ada, bob dbarg.Member
		// listMembers is ListMembers of team compared with its stream.
		listMembers := func(c *conform.C, db dbarg.DBTX, team int64) []dbarg.Member {
			return conform.Many[dbarg.Member](c, queries, "ListMembers", c.Ctx, db, team)
		}
		return []conform.Step[dbarg.DBTX]{
			{Name: "create", Run: func(c *conform.C, db dbarg.DBTX) error {
				var err error
				for _, t := range []struct {
					team *dbarg.Team
					name string
				}{{&red, "red"}, {&blue, "blue"}, {&empty, "empty"}} {
					*t.team, err = queries.CreateTeam(c.Ctx, db, t.name)
					conform.NoErr(c, "CreateTeam", err)
					conform.Equal(c, "CreateTeam's name", t.team.Name, t.name)
				}
				conform.NoErr(c, "AddMember", queries.AddMember(c.Ctx, db, dbarg.AddMemberParams{TeamID: red.ID, Name: "ada", Score: 3}))
				conform.NoErr(c, "AddMember", queries.AddMember(c.Ctx, db, dbarg.AddMemberParams{TeamID: red.ID, Name: "bob", Score: 5}))
				got := listMembers(c, db, red.ID)
				conform.Equal(c, "red's members", members(got), []member{{red.ID, "bob", 5}, {red.ID, "ada", 3}})
				if len(got) == 2 {
					bob, ada = got[0], got[1]
				}
				return nil
			}},
			{Name: "foreign key", Run: func(c *conform.C, db dbarg.DBTX) error {
				err := queries.AddMember(c.Ctx, db, dbarg.AddMemberParams{TeamID: -1, Name: "orphan"})
				conform.WantConstraint(c, err, "AddMember", pgerr.ConstraintForeignKey, "members_team_id_fkey")
				return err
			}},
			{Name: "not found", Read: true, Run: func(c *conform.C, db dbarg.DBTX) error {
				_, err := queries.GetTeam(c.Ctx, db, -1)
				conform.WantNotFound(c, err, "GetTeam")
				return nil
			}},
			{Name: "get", Read: true, Run: func(c *conform.C, db dbarg.DBTX) error {
				var qr dbarg.Querier = queries
				got, err := qr.GetTeam(c.Ctx, db, blue.ID)
				conform.NoErr(c, "GetTeam", err)
				conform.Equal(c, "GetTeam", got, blue)
				return nil
			}},
			{Name: "single column", Read: true, Run: func(c *conform.C, db dbarg.DBTX) error {
				got := conform.Many[string](c, queries, "ListTeamNames", c.Ctx, db)
				conform.Equal(c, "ListTeamNames", got, []string{"blue", "empty", "red"})
				return nil
			}},
			{Name: "list", Read: true, Run: func(c *conform.C, db dbarg.DBTX) error {
				conform.Equal(c, "ListMembers of red", listMembers(c, db, red.ID), []dbarg.Member{bob, ada})
				conform.Equal(c, "ListMembers of a team without members", len(listMembers(c, db, empty.ID)), 0)
				return nil
			}},
			{Name: "copyfrom", Direct: true, Run: func(c *conform.C, db dbarg.DBTX) error {
				n, err := queries.CopyMembers(c.Ctx, db, []dbarg.CopyMembersParams{
					{TeamID: blue.ID, Name: "zed", Score: 100},
					{TeamID: blue.ID, Name: "yan", Score: 100},
				})
				conform.NoErr(c, "CopyMembers", err)
				conform.Equal(c, "rows copied", n, int64(2))
				// CopyMembersSeq loads from an iterator, never a slice.
				const many = 300
				seq := func(yield func(dbarg.CopyMembersParams) bool) {
					for i := range many {
						if !yield(dbarg.CopyMembersParams{TeamID: blue.ID, Name: fmt.Sprintf("m%03d", i), Score: int32(i % 7)}) {
							return
						}
					}
				}
				n, err = queries.CopyMembersSeq(c.Ctx, db, seq)
				conform.NoErr(c, "CopyMembersSeq", err)
				conform.Equal(c, "rows copied from the seq", n, int64(many))
				var none iter.Seq[dbarg.CopyMembersParams] = func(func(dbarg.CopyMembersParams) bool) {}
				n, err = queries.CopyMembersSeq(c.Ctx, db, none)
				conform.NoErr(c, "CopyMembersSeq of nothing", err)
				conform.Equal(c, "rows copied from an empty seq", n, int64(0))

				want := []member{{blue.ID, "yan", 100}, {blue.ID, "zed", 100}}
				for score := int32(6); score >= 0; score-- {
					for i := range many {
						if int32(i%7) == score {
							want = append(want, member{blue.ID, fmt.Sprintf("m%03d", i), score})
						}
					}
				}
				got := listMembers(c, db, blue.ID)
				conform.Equal(c, "blue's members after the COPYs", members(got), want)
				seen := map[int64]bool{ada.ID: true, bob.ID: true}
				for _, m := range got {
					if m.ID <= 0 || seen[m.ID] {
						c.Errorf("copied member %+v: ID not new and positive", m)
					}
					seen[m.ID] = true
				}
				return nil
			}},
			{Name: "batchexec", Direct: true, Run: func(c *conform.C, db dbarg.DBTX) error {
				var errs []error
				queries.SetScores(c.Ctx, db, []dbarg.SetScoresParams{{ID: ada.ID, Score: 10}, {ID: bob.ID, Score: 1}, {ID: -1, Score: 7}}).Exec(func(i int, err error) {
					conform.Equal(c, "SetScores result index", i, len(errs))
					errs = append(errs, err)
				})
				conform.Equal(c, "SetScores errors", errs, []error{nil, nil, nil})
				ada.Score, bob.Score = 10, 1
				conform.Equal(c, "red's members after SetScores", listMembers(c, db, red.ID), []dbarg.Member{ada, bob})
				return nil
			}},
			{Name: "batch foreign key", Direct: true, Run: func(c *conform.C, db dbarg.DBTX) error {
				var errs []error
				queries.MoveMembers(c.Ctx, db, []dbarg.MoveMembersParams{{ID: ada.ID, TeamID: blue.ID}, {ID: bob.ID, TeamID: -1}}).Exec(func(_ int, err error) {
					errs = append(errs, err)
				})
				if len(errs) != 2 {
					c.Fatalf("MoveMembers (%s): %d results, want 2", c.Mode, len(errs))
				}
				conform.Equal(c, "MoveMembers' first error", errs[0], nil)
				conform.WantConstraint(c, errs[1], "MoveMembers", pgerr.ConstraintForeignKey, "members_team_id_fkey")
				return errs[1]
			}},
			{Name: "after the failed batch", Read: true, Run: func(c *conform.C, db dbarg.DBTX) error {
				// The batch ran as one (implicit or savepoint) transaction: ada
				// did not move either.
				conform.Equal(c, "red's members after the failed MoveMembers", listMembers(c, db, red.ID), []dbarg.Member{ada, bob})
				return nil
			}},
		}
	})
}
