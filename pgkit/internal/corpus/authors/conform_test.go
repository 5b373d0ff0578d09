package authors_test

import (
	"embed"
	"os"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shopdb/shopdb/pgkit/internal/corpus/authors"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/conform"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

//go:embed migrations/*.sql
var migrations embed.FS

func TestMain(m *testing.M) { os.Exit(pgkittest.Run(m)) }

func TestConformance(t *testing.T) {
	p := conform.Package{Migrations: conform.Migrations(migrations), Queries: (*authors.Queries)(nil), Batch: (*authors.Batch)(nil), Decoders: authors.Decoders()}
	conform.Run(t, p, authors.New, func() []conform.Step[*authors.Queries] {
		var ada, bob authors.Author
		return []conform.Step[*authors.Queries]{
			{Name: "create", Run: func(c *conform.C, q *authors.Queries) error {
				var err error
				ada, err = q.CreateAuthor(c.Ctx, authors.CreateAuthorParams{Name: "Ada", Email: "ada@example.com", Bio: pgtype.Text{String: "analyst", Valid: true}})
				conform.NoErr(c, "CreateAuthor", err)
				bob, err = q.CreateAuthor(c.Ctx, authors.CreateAuthorParams{Name: "Bob", Email: "bob@example.com"})
				conform.NoErr(c, "CreateAuthor", err)
				conform.Equal(c, "Bob's bio", bob.Bio, pgtype.Text{})
				for _, title := range []string{"Notes", "Analytical Engine"} {
					_, err = q.CreateBook(c.Ctx, authors.CreateBookParams{AuthorID: ada.ID, Title: title})
					conform.NoErr(c, "CreateBook", err)
				}
				return nil
			}},
			{Name: "unique", Run: func(c *conform.C, q *authors.Queries) error {
				_, err := q.CreateAuthor(c.Ctx, authors.CreateAuthorParams{Name: "Eve", Email: "ada@example.com"})
				conform.WantConstraint(c, err, "CreateAuthor", pgerr.ConstraintUnique, "authors_email_key")
				return err
			}},
			{Name: "check", Run: func(c *conform.C, q *authors.Queries) error {
				_, err := q.CreateAuthor(c.Ctx, authors.CreateAuthorParams{Name: "", Email: "empty@example.com"})
				conform.WantConstraint(c, err, "CreateAuthor", pgerr.ConstraintCheck, "authors_name_check")
				return err
			}},
			{Name: "not null", Run: func(c *conform.C, q *authors.Queries) error {
				err := q.CreateAuthorMaybeNamed(c.Ctx, authors.CreateAuthorMaybeNamedParams{Email: "anon@example.com"})
				conform.WantConstraint(c, err, "CreateAuthorMaybeNamed", pgerr.ConstraintNotNull, "name")
				return err
			}},
			{Name: "foreign key", Run: func(c *conform.C, q *authors.Queries) error {
				_, err := q.CreateBook(c.Ctx, authors.CreateBookParams{AuthorID: -1, Title: "Orphan"})
				conform.WantConstraint(c, err, "CreateBook", pgerr.ConstraintForeignKey, "books_author_id_fkey")
				return err
			}},
			{Name: "not found", Read: true, Run: func(c *conform.C, q *authors.Queries) error {
				_, err := q.GetAuthor(c.Ctx, -1)
				conform.WantNotFound(c, err, "GetAuthor")
				return nil
			}},
			{Name: "get", Read: true, Run: func(c *conform.C, q *authors.Queries) error {
				got, err := q.GetAuthor(c.Ctx, ada.ID)
				conform.NoErr(c, "GetAuthor", err)
				conform.Equal(c, "GetAuthor", got, ada)
				return nil
			}},
			{Name: "list", Read: true, Run: func(c *conform.C, q *authors.Queries) error {
				got := conform.Many[authors.Author](c, q, "ListAuthors", c.Ctx)
				conform.Equal(c, "ListAuthors", got, []authors.Author{ada, bob})
				return nil
			}},
			{Name: "single column", Read: true, Run: func(c *conform.C, q *authors.Queries) error {
				got := conform.Many[string](c, q, "ListBookTitles", c.Ctx, ada.ID)
				conform.Equal(c, "ListBookTitles", got, []string{"Analytical Engine", "Notes"})
				none := conform.Many[string](c, q, "ListBookTitles", c.Ctx, bob.ID)
				conform.Equal(c, "ListBookTitles of an author without books", len(none), 0)
				return nil
			}},
			{Name: "failing part-way", Run: func(c *conform.C, q *authors.Queries) error {
				return conform.ManyFails[int32](c, q, "ListQuotients", c.Ctx) // division by zero at the third row
			}},
			{Name: "failing to scan part-way", Run: func(c *conform.C, q *authors.Queries) error {
				// sqlc types nullif(g, 2)::int as int32: the NULL of the second
				// row cannot be scanned, in the client.
				return conform.ManyFails[int32](c, q, "ListUnlessTwo", c.Ctx)
			}},
			{Name: "exec", Run: func(c *conform.C, q *authors.Queries) error {
				err := q.UpdateAuthorBio(c.Ctx, authors.UpdateAuthorBioParams{ID: bob.ID, Bio: pgtype.Text{String: "builder", Valid: true}})
				conform.NoErr(c, "UpdateAuthorBio", err)
				got, err := q.GetAuthor(c.Ctx, bob.ID)
				conform.NoErr(c, "GetAuthor", err)
				conform.Equal(c, "bio after UpdateAuthorBio", got.Bio.String, "builder")
				return nil
			}},
			{Name: "execrows", Run: func(c *conform.C, q *authors.Queries) error {
				n, err := q.DeleteAuthor(c.Ctx, bob.ID)
				conform.NoErr(c, "DeleteAuthor", err)
				conform.Equal(c, "rows deleted", n, int64(1))
				n, err = q.DeleteAuthor(c.Ctx, bob.ID)
				conform.NoErr(c, "DeleteAuthor again", err)
				conform.Equal(c, "rows deleted again", n, int64(0))
				return nil
			}},
		}
	})
}
