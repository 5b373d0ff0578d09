package embeds_test

import (
	"embed"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shopdb/shopdb/pgkit/internal/corpus/conform"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/embeds"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

//go:embed migrations/*.sql
var migrations embed.FS

func TestMain(m *testing.M) { os.Exit(pgkittest.Run(m)) }

func date(y int, m time.Month, d int) pgtype.Date {
	return pgtype.Date{Time: time.Date(y, m, d, 0, 0, 0, 0, time.UTC), Valid: true}
}

func TestConformance(t *testing.T) {
	p := conform.Package{Migrations: conform.Migrations(migrations), Queries: (*embeds.Queries)(nil), Batch: (*embeds.Batch)(nil), Decoders: embeds.Decoders()}
	conform.Run(t, p, embeds.New, func() []conform.Step[*embeds.Queries] {
		var ada, bob, cy embeds.Author
		var notes, engine, difference embeds.Book
		return []conform.Step[*embeds.Queries]{
			{Name: "create", Run: func(c *conform.C, q *embeds.Queries) error {
				var s embeds.Querier = q // emit_interface: the queries through sqlc's Querier
				var err error
				ada, err = s.CreateAuthor(c.Ctx, embeds.CreateAuthorParams{Name: "Ada", Bio: pgtype.Text{String: "analyst", Valid: true}})
				conform.NoErr(c, "CreateAuthor", err)
				bob, err = s.CreateAuthor(c.Ctx, embeds.CreateAuthorParams{Name: "Bob"})
				conform.NoErr(c, "CreateAuthor", err)
				conform.Equal(c, "Bob's bio", bob.Bio, pgtype.Text{})
				cy, err = s.CreateAuthor(c.Ctx, embeds.CreateAuthorParams{Name: "Cy"})
				conform.NoErr(c, "CreateAuthor", err)
				notes, err = s.CreateBook(c.Ctx, embeds.CreateBookParams{AuthorID: ada.ID, Title: "Notes", Published: date(1843, time.October, 1)})
				conform.NoErr(c, "CreateBook", err)
				engine, err = s.CreateBook(c.Ctx, embeds.CreateBookParams{AuthorID: ada.ID, Title: "Analytical Engine"})
				conform.NoErr(c, "CreateBook", err)
				conform.Equal(c, "an unpublished book's date", engine.Published, pgtype.Date{})
				difference, err = s.CreateBook(c.Ctx, embeds.CreateBookParams{AuthorID: bob.ID, Title: "Difference Engine", Published: date(1822, time.June, 14)})
				conform.NoErr(c, "CreateBook", err)
				return nil
			}},
			{Name: "foreign key", Run: func(c *conform.C, q *embeds.Queries) error {
				_, err := q.CreateBook(c.Ctx, embeds.CreateBookParams{AuthorID: -1, Title: "Orphan"})
				conform.WantConstraint(c, err, "CreateBook", pgerr.ConstraintForeignKey, "books_author_id_fkey")
				return err
			}},
			{Name: "not found", Read: true, Run: func(c *conform.C, q *embeds.Queries) error {
				_, err := q.GetBookWithAuthor(c.Ctx, -1)
				conform.WantNotFound(c, err, "GetBookWithAuthor")
				// Cy has no books: the inner join has no row for him.
				_, err = q.GetAuthorWithBookCount(c.Ctx, cy.ID)
				conform.WantNotFound(c, err, "GetAuthorWithBookCount")
				return nil
			}},
			{Name: "two embeds :one", Read: true, Run: func(c *conform.C, q *embeds.Queries) error {
				got, err := q.GetBookWithAuthor(c.Ctx, notes.ID)
				conform.NoErr(c, "GetBookWithAuthor", err)
				conform.Equal(c, "GetBookWithAuthor", got, embeds.GetBookWithAuthorRow{Book: notes, Author: ada})
				got, err = q.GetBookWithAuthor(c.Ctx, difference.ID)
				conform.NoErr(c, "GetBookWithAuthor", err)
				conform.Equal(c, "GetBookWithAuthor (NULL bio)", got, embeds.GetBookWithAuthorRow{Book: difference, Author: bob})
				return nil
			}},
			{Name: "embed and a column :one", Read: true, Run: func(c *conform.C, q *embeds.Queries) error {
				got, err := q.GetAuthorWithBookCount(c.Ctx, ada.ID)
				conform.NoErr(c, "GetAuthorWithBookCount", err)
				conform.Equal(c, "GetAuthorWithBookCount", got, embeds.GetAuthorWithBookCountRow{Author: ada, Books: 2})
				return nil
			}},
			{Name: "two embeds :many, narg NULL and set", Read: true, Run: func(c *conform.C, q *embeds.Queries) error {
				all := conform.Many[embeds.ListBooksWithAuthorsRow](c, q, "ListBooksWithAuthors", c.Ctx, pgtype.Int8{})
				conform.Equal(c, "ListBooksWithAuthors (no author filter)", all, []embeds.ListBooksWithAuthorsRow{
					{Book: engine, Author: ada},
					{Book: difference, Author: bob},
					{Book: notes, Author: ada},
				})
				adas := conform.Many[embeds.ListBooksWithAuthorsRow](c, q, "ListBooksWithAuthors", c.Ctx, pgtype.Int8{Int64: ada.ID, Valid: true})
				conform.Equal(c, "ListBooksWithAuthors (Ada's)", adas, []embeds.ListBooksWithAuthorsRow{
					{Book: engine, Author: ada},
					{Book: notes, Author: ada},
				})
				none := conform.Many[embeds.ListBooksWithAuthorsRow](c, q, "ListBooksWithAuthors", c.Ctx, pgtype.Int8{Int64: cy.ID, Valid: true})
				conform.Equal(c, "ListBooksWithAuthors (Cy's)", len(none), 0)
				return nil
			}},
			{Name: "columns and an embed :many", Read: true, Run: func(c *conform.C, q *embeds.Queries) error {
				got := conform.Many[embeds.ListBookTitlesWithAuthorRow](c, q, "ListBookTitlesWithAuthor", c.Ctx, "%Engine")
				conform.Equal(c, "ListBookTitlesWithAuthor", got, []embeds.ListBookTitlesWithAuthorRow{
					{ID: engine.ID, Title: engine.Title, Author: ada},
					{ID: difference.ID, Title: difference.Title, Author: bob},
				})
				none := conform.Many[embeds.ListBookTitlesWithAuthorRow](c, q, "ListBookTitlesWithAuthor", c.Ctx, "zzz%")
				conform.Equal(c, "ListBookTitlesWithAuthor (no match)", len(none), 0)
				return nil
			}},
			{Name: "aliased embeds, @name and narg params struct", Read: true, Run: func(c *conform.C, q *embeds.Queries) error {
				var s embeds.Store = q // the same through pgkitgen's Store
				got := conform.Many[embeds.ListAuthorBooksPublishedSinceRow](c, s, "ListAuthorBooksPublishedSince", c.Ctx, embeds.ListAuthorBooksPublishedSinceParams{Name: "Ada"})
				conform.Equal(c, "ListAuthorBooksPublishedSince (any date)", got, []embeds.ListAuthorBooksPublishedSinceRow{
					{Author: ada, Book: notes},
					{Author: ada, Book: engine},
				})
				got = conform.Many[embeds.ListAuthorBooksPublishedSinceRow](c, s, "ListAuthorBooksPublishedSince", c.Ctx, embeds.ListAuthorBooksPublishedSinceParams{Name: "Ada", Since: date(1843, time.January, 1)})
				conform.Equal(c, "ListAuthorBooksPublishedSince (since 1843)", got, []embeds.ListAuthorBooksPublishedSinceRow{{Author: ada, Book: notes}})
				got = conform.Many[embeds.ListAuthorBooksPublishedSinceRow](c, s, "ListAuthorBooksPublishedSince", c.Ctx, embeds.ListAuthorBooksPublishedSinceParams{Name: "Bob", Since: date(1900, time.January, 1)})
				conform.Equal(c, "ListAuthorBooksPublishedSince (Bob since 1900)", len(got), 0)
				return nil
			}},
		}
	})
}
