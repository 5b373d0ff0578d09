package nest_test

import (
	"context"
	"embed"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/conform"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/nest"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

//go:embed migrations/*.sql
var migrations embed.FS

func TestMain(m *testing.M) { os.Exit(pgkittest.Run(m)) }

func text(s string) pgtype.Text { return pgtype.Text{String: s, Valid: true} }

func ts(t time.Time) pgtype.Timestamptz { return pgtype.Timestamptz{Time: t, Valid: true} }

func num(s string) pgtype.Numeric {
	var n pgtype.Numeric
	if err := n.Scan(s); err != nil {
		panic(err)
	}
	return n
}

// sessionTimeZone is every connection's TimeZone: to_json writes
// timestamptz in it, and before 1937 Amsterdam's offset has seconds
// (+00:19:32), which RFC 3339 cannot say.
const sessionTimeZone = "Europe/Amsterdam"

func TestConformance(t *testing.T) {
	p := conform.Package{
		Migrations: conform.Migrations(migrations),
		Queries:    (*nest.Queries)(nil),
		Batch:      (*nest.Batch)(nil),
		Decoders:   nest.Decoders(),
		Config: pgkit.Config{AfterConnect: func(ctx context.Context, conn *pgx.Conn) error {
			_, err := conn.Exec(ctx, "SET TimeZone = '"+sessionTimeZone+"'")
			return err
		}},
	}
	kathmandu := time.FixedZone("+05:45", 5*3600+45*60)
	conform.Run(t, p, nest.New, func() []conform.Step[*nest.Queries] {
		var ada, bob, cy, twin1, twin2 nest.Author
		var notes, engine, difference nest.Book
		var adaNotes []nest.Note
		return []conform.Step[*nest.Queries]{
			{Name: "create", Run: func(c *conform.C, q *nest.Queries) error {
				var err error
				author := func(name string, bio pgtype.Text) nest.Author {
					a, err := q.CreateAuthor(c.Ctx, nest.CreateAuthorParams{Name: name, Bio: bio})
					conform.NoErr(c, "CreateAuthor", err)
					return a
				}
				ada, bob, cy = author("Ada", text("analyst")), author("Bob", pgtype.Text{}), author("Cy", pgtype.Text{})
				twin1, twin2 = author("Twin", pgtype.Text{}), author("Twin", pgtype.Text{})
				notes, err = q.CreateBook(c.Ctx, nest.CreateBookParams{
					AuthorID: ada.ID, Title: "Notes", Subtitle: text("über ☃ \"quoted\" \\ 😀"),
					Price:     num("12345678901234567890.123456789"),
					Cover:     []byte{0, 1, 0x7f, 0xff},
					AddedAt:   ts(time.Date(2024, 3, 31, 1, 59, 59, 999999000, time.UTC)),
					Published: pgtype.Date{Time: time.Date(1843, 10, 1, 0, 0, 0, 0, time.UTC), Valid: true},
				})
				conform.NoErr(c, "CreateBook", err)
				// Every nullable column NULL: still a book.
				engine, err = q.CreateBook(c.Ctx, nest.CreateBookParams{AuthorID: ada.ID, Title: "Analytical Engine", AddedAt: ts(time.Date(1900, 6, 1, 12, 0, 0, 123456000, time.UTC))})
				conform.NoErr(c, "CreateBook", err)
				difference, err = q.CreateBook(c.Ctx, nest.CreateBookParams{AuthorID: bob.ID, Title: "Difference Engine", Cover: []byte{}, AddedAt: ts(time.Date(2001, 1, 1, 0, 0, 0, 1000, kathmandu))})
				conform.NoErr(c, "CreateBook", err)
				for _, np := range []nest.CreateNoteParams{
					{AuthorID: ada.ID, Body: "naïve 😀 \"quoted\" \\ \u2028 <tag>", Amount: num("-98765432109876543210.000000001"), Raw: []byte{0, 0xff, '"', '\\'},
						WrittenAt: ts(time.Date(1900, 1, 1, 0, 0, 0, 1000, time.UTC)), SeenAt: ts(time.Date(2024, 7, 1, 23, 59, 59, 999999000, kathmandu))},
					{AuthorID: ada.ID, Body: "", Amount: num("0.000"), Raw: []byte{},
						WrittenAt: ts(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))},
					{AuthorID: ada.ID, Body: "later", Amount: num("1000000000000000000000000000000"),
						WrittenAt: ts(time.Date(2024, 1, 1, 0, 0, 0, 1000, time.UTC))},
				} {
					n, err := q.CreateNote(c.Ctx, np)
					conform.NoErr(c, "CreateNote", err)
					adaNotes = append(adaNotes, n)
				}
				return nil
			}},
			{Name: "many parents: 0, 1 and 2 children", Read: true, Run: func(c *conform.C, q *nest.Queries) error {
				got := conform.Many[nest.ListAuthorsWithBooksRow](c, q, "ListAuthorsWithBooks", c.Ctx, "")
				row := func(a nest.Author, books ...nest.Book) nest.ListAuthorsWithBooksRow {
					return nest.ListAuthorsWithBooksRow{ID: a.ID, Name: a.Name, Bio: a.Bio, Books: append([]nest.Book{}, books...)}
				}
				want := []nest.ListAuthorsWithBooksRow{row(ada, notes, engine), row(bob, difference), row(cy), row(twin1), row(twin2)}
				equalNumeric(c, "ListAuthorsWithBooks", got, want)
				if got[2].Books == nil {
					c.Errorf("ListAuthorsWithBooks (%s): a parent without children has a nil slice, want empty", c.Mode)
				}
				none := conform.Many[nest.ListAuthorsWithBooksRow](c, q, "ListAuthorsWithBooks", c.Ctx, "Zed")
				conform.Equal(c, "ListAuthorsWithBooks (no parent)", len(none), 0)
				// The stream holds one parent at a time; stopping after it
				// gives the connection back (pgkittest fails on a leak).
				for r, err := range q.ListAuthorsWithBooksStream(c.Ctx, "A") {
					conform.NoErr(c, "ListAuthorsWithBooksStream", err)
					conform.Equal(c, "ListAuthorsWithBooksStream's first parent", len(r.Books), 2)
					break
				}
				return nil
			}},
			{Name: "one parent", Read: true, Run: func(c *conform.C, q *nest.Queries) error {
				got, err := q.GetAuthorWithBooks(c.Ctx, ada.ID)
				conform.NoErr(c, "GetAuthorWithBooks", err)
				equalNumeric(c, "GetAuthorWithBooks", got, nest.GetAuthorWithBooksRow{ID: ada.ID, Name: "Ada", Books: []nest.Book{notes, engine}})
				got, err = q.GetAuthorWithBooks(c.Ctx, cy.ID)
				conform.NoErr(c, "GetAuthorWithBooks", err)
				conform.Equal(c, "GetAuthorWithBooks (no books)", got, nest.GetAuthorWithBooksRow{ID: cy.ID, Name: "Cy", Books: []nest.Book{}})
				_, err = q.GetAuthorWithBooks(c.Ctx, -1)
				conform.WantNotFound(c, err, "GetAuthorWithBooks")
				if err != nil && err.Error() != "GetAuthorWithBooks: not found" {
					c.Errorf("GetAuthorWithBooks (%s) without a parent: %q, want pgkit's wording \"GetAuthorWithBooks: not found\"", c.Mode, err)
				}
				return nil
			}},
			{Name: "zero or one parent", Read: true, Run: func(c *conform.C, q *nest.Queries) error {
				var s nest.Store = q
				got, ok, err := s.FindAuthorWithBooks(c.Ctx, "Bob")
				conform.NoErr(c, "FindAuthorWithBooks", err)
				conform.Equal(c, "FindAuthorWithBooks found", ok, true)
				conform.Equal(c, "FindAuthorWithBooks", got, nest.FindAuthorWithBooksRow{Author: bob, Titles: []nest.Book{difference}})
				got, ok, err = s.FindAuthorWithBooks(c.Ctx, "Nobody")
				conform.NoErr(c, "FindAuthorWithBooks (nobody)", err)
				conform.Equal(c, "FindAuthorWithBooks (nobody) found", ok, false)
				conform.Equal(c, "FindAuthorWithBooks (nobody)", got.Titles, []nest.Book(nil))
				_, ok, err = s.FindAuthorWithBooks(c.Ctx, "Twin")
				if err == nil || ok || !strings.Contains(err.Error(), "more than one parent") {
					c.Errorf("FindAuthorWithBooks (two Twins) (%s): %v, %v; want the error of several parents", c.Mode, ok, err)
				}
				return nil
			}},
			{Name: "not ordered by the key", Read: true, Run: func(c *conform.C, q *nest.Queries) error {
				got := conform.Many[nest.ListBooksByTitleWithAuthorRow](c, q, "ListBooksByTitleWithAuthor", c.Ctx)
				row := func(a nest.Author, books ...nest.Book) nest.ListBooksByTitleWithAuthorRow {
					return nest.ListBooksByTitleWithAuthorRow{ID: a.ID, Name: a.Name, Books: append([]nest.Book{}, books...)}
				}
				// Ada's books are not consecutive: she comes twice.
				want := []nest.ListBooksByTitleWithAuthorRow{row(ada, engine), row(bob, difference), row(ada, notes), row(cy), row(twin1), row(twin2)}
				equalNumeric(c, "ListBooksByTitleWithAuthor", got, want)
				return nil
			}},
			{Name: "json child list", Read: true, Run: func(c *conform.C, q *nest.Queries) error {
				got := conform.Many[nest.ListAuthorsWithNotesRow](c, q, "ListAuthorsWithNotes", c.Ctx)
				conform.Equal(c, "ListAuthorsWithNotes rows", len(got), 5)
				equalNumeric(c, "ListAuthorsWithNotes (Ada's)", got[0], nest.ListAuthorsWithNotesRow{ID: ada.ID, Name: "Ada", Notes: adaNotes})
				conform.Equal(c, "ListAuthorsWithNotes (Bob's)", got[1], nest.ListAuthorsWithNotesRow{ID: bob.ID, Name: "Bob", Notes: []nest.Note{}})
				return nil
			}},
			{Name: "two json lists in a :one", Read: true, Run: func(c *conform.C, q *nest.Queries) error {
				got, err := q.GetAuthorPage(c.Ctx, ada.ID)
				conform.NoErr(c, "GetAuthorPage", err)
				equalNumeric(c, "GetAuthorPage", got, nest.GetAuthorPageRow{Author: ada, Books: []nest.Book{notes, engine}, Notes: adaNotes})
				got, err = q.GetAuthorPage(c.Ctx, cy.ID)
				conform.NoErr(c, "GetAuthorPage", err)
				conform.Equal(c, "GetAuthorPage (Cy)", got, nest.GetAuthorPageRow{Author: cy, Books: []nest.Book{}, Notes: []nest.Note{}})
				_, err = q.GetAuthorPage(c.Ctx, -1)
				conform.WantNotFound(c, err, "GetAuthorPage")
				return nil
			}},
		}
	})
}

// equalNumeric is conform.Equal after writing every pgtype.Numeric in got
// and want as its exact value (1.50 and 1.5 are the same number; pgx's
// binary and text decoders may disagree on the exponent).
func equalNumeric[T any](c *conform.C, what string, got, want T) {
	c.Helper()
	conform.Equal(c, what, normalize(got), normalize(want))
}
