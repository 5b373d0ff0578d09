package renames_test

import (
	"embed"
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shopdb/shopdb/pgkit/internal/corpus/conform"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/renames"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

//go:embed migrations/*.sql
var migrations embed.FS

func TestMain(m *testing.M) { os.Exit(pgkittest.Run(m)) }

func TestConformance(t *testing.T) {
	p := conform.Package{Migrations: conform.Migrations(migrations), Queries: (*renames.Queries)(nil), Batch: (*renames.Batch)(nil), Decoders: renames.Decoders()}
	conform.Run(t, p, renames.New, func() []conform.Step[*renames.Queries] {
		var ada, bob renames.Account
		var s1, s2 renames.Session
		return []conform.Step[*renames.Queries]{
			{Name: "create", Run: func(c *conform.C, q *renames.Queries) error {
				var err error
				ada, err = q.CreateAccount(c.Ctx, renames.CreateAccountParams{
					Username: "ada", Email: "ada@example.com",
					Homepage: pgtype.Text{String: "https://ada.example", Valid: true},
					Settings: json.RawMessage(`{"theme":"dark"}`),
				})
				conform.NoErr(c, "CreateAccount", err)
				conform.Equal(c, "Ada's settings (jsonb, normalised)", string(ada.Settings), `{"theme": "dark"}`)
				bob, err = q.CreateAccount(c.Ctx, renames.CreateAccountParams{Username: "bob", Email: "bob@example.com", Settings: json.RawMessage(`[]`)})
				conform.NoErr(c, "CreateAccount", err)
				conform.Equal(c, "Bob's homepage (NULL)", bob.Homepage, pgtype.Text{})
				s1, err = q.CreateSession(c.Ctx, renames.CreateSessionParams{AccountID: ada.ID, Token: "t-2", Settings: []byte(`{"ttl": 60}`)})
				conform.NoErr(c, "CreateSession", err)
				s2, err = q.CreateSession(c.Ctx, renames.CreateSessionParams{AccountID: ada.ID, Token: "t-1"})
				conform.NoErr(c, "CreateSession", err)
				conform.Equal(c, "session settings (NULL jsonb)", s2.Settings, []byte(nil))
				conform.Equal(c, "session's account", s1.AccountID, ada.ID)
				return nil
			}},
			{Name: "unique on a renamed column", Run: func(c *conform.C, q *renames.Queries) error {
				_, err := q.CreateAccount(c.Ctx, renames.CreateAccountParams{Username: "ada", Email: "other@example.com", Settings: json.RawMessage(`{}`)})
				conform.WantConstraint(c, err, "CreateAccount", pgerr.ConstraintUnique, "app_users_usr_name_key")
				return err
			}},
			{Name: "foreign key on a renamed column", Run: func(c *conform.C, q *renames.Queries) error {
				_, err := q.CreateSession(c.Ctx, renames.CreateSessionParams{AccountID: -1, Token: "orphan"})
				conform.WantConstraint(c, err, "CreateSession", pgerr.ConstraintForeignKey, "sessions_usr_id_fkey")
				return err
			}},
			{Name: "not found", Read: true, Run: func(c *conform.C, q *renames.Queries) error {
				_, err := q.GetAccount(c.Ctx, -1)
				conform.WantNotFound(c, err, "GetAccount")
				return nil
			}},
			{Name: "get, and its JSON in snake case", Read: true, Run: func(c *conform.C, q *renames.Queries) error {
				got, err := q.GetAccount(c.Ctx, ada.ID)
				conform.NoErr(c, "GetAccount", err)
				conform.Equal(c, "GetAccount", got, ada)
				b, err := json.Marshal(got)
				conform.NoErr(c, "json.Marshal", err)
				want := `{"id":` + jsonInt(ada.ID) + `,"usr_name":"ada","email_addr":"ada@example.com","homepage":"https://ada.example","settings":{"theme":"dark"}}`
				conform.Equal(c, "Account as JSON", string(b), want)
				return nil
			}},
			{Name: "renamed struct", Read: true, Run: func(c *conform.C, q *renames.Queries) error {
				got := conform.Many[renames.Account](c, q, "ListAccounts", c.Ctx)
				conform.Equal(c, "ListAccounts", got, []renames.Account{ada, bob})
				return nil
			}},
			{Name: "renamed fields", Read: true, Run: func(c *conform.C, q *renames.Queries) error {
				got := conform.Many[renames.Session](c, q, "ListSessions", c.Ctx, ada.ID)
				conform.Equal(c, "ListSessions", got, []renames.Session{s2, s1})
				none := conform.Many[renames.Session](c, q, "ListSessions", c.Ctx, bob.ID)
				conform.Equal(c, "ListSessions of an account without sessions", len(none), 0)
				return nil
			}},
			{Name: "single renamed column", Read: true, Run: func(c *conform.C, q *renames.Queries) error {
				got := conform.Many[string](c, q, "ListSessionTokens", c.Ctx, ada.ID)
				conform.Equal(c, "ListSessionTokens", got, []string{"t-1", "t-2"})
				none := conform.Many[string](c, q, "ListSessionTokens", c.Ctx, bob.ID)
				conform.Equal(c, "ListSessionTokens of an account without sessions", len(none), 0)
				return nil
			}},
			{Name: "join row with renamed fields", Read: true, Run: func(c *conform.C, q *renames.Queries) error {
				got := conform.Many[renames.ListLoginsRow](c, q, "ListLogins", c.Ctx)
				conform.Equal(c, "ListLogins", got, []renames.ListLoginsRow{
					{Username: "ada", Email: "ada@example.com", Token: "t-1"},
					{Username: "ada", Email: "ada@example.com", Token: "t-2", Settings: []byte(`{"ttl": 60}`)},
				})
				return nil
			}},
			{Name: "execrows", Run: func(c *conform.C, q *renames.Queries) error {
				n, err := q.DeleteSessions(c.Ctx, ada.ID)
				conform.NoErr(c, "DeleteSessions", err)
				conform.Equal(c, "sessions deleted", n, int64(2))
				none := conform.Many[renames.ListLoginsRow](c, q, "ListLogins", c.Ctx)
				conform.Equal(c, "ListLogins after DeleteSessions", len(none), 0)
				return nil
			}},
		}
	})
}

// TestTags: the column-specific struct tag is on the overridden column's
// fields only, beside the snake-case JSON tag of the column (not of the
// renamed field).
func TestTags(t *testing.T) {
	for _, typ := range []reflect.Type{reflect.TypeFor[renames.Account](), reflect.TypeFor[renames.CreateAccountParams](), reflect.TypeFor[renames.ListLoginsRow]()} {
		f, ok := typ.FieldByName("Email")
		if !ok || f.Tag != `json:"email_addr" validate:"email"` {
			t.Errorf("%v.Email: tag %q, want the json and validate tags", typ, f.Tag)
		}
		f, _ = typ.FieldByName("Username")
		if f.Tag != `json:"usr_name"` {
			t.Errorf("%v.Username: tag %q", typ, f.Tag)
		}
	}
	f, _ := reflect.TypeFor[renames.Session]().FieldByName("AccountID")
	if f.Tag != `json:"usr_id"` {
		t.Errorf("Session.AccountID: tag %q", f.Tag)
	}
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
