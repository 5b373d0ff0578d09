package leftjoinptr_test

import (
	"embed"
	"os"
	"testing"

	"github.com/shopdb/shopdb/pgkit/internal/corpus/conform"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/leftjoinptr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

//go:embed migrations/*.sql
var migrations embed.FS

func TestMain(m *testing.M) { os.Exit(pgkittest.Run(m)) }

func ptr[T any](v T) *T { return &v }

func TestConformance(t *testing.T) {
	p := conform.Package{Migrations: conform.Migrations(migrations), Queries: (*leftjoinptr.Queries)(nil), Batch: (*leftjoinptr.Batch)(nil), Decoders: leftjoinptr.Decoders()}
	conform.Run(t, p, leftjoinptr.New, func() []conform.Step[*leftjoinptr.Queries] {
		var ada, bob, cy *leftjoinptr.Author
		var notes, sketch *leftjoinptr.Book
		return []conform.Step[*leftjoinptr.Queries]{
			{Name: "empty (emit_empty_slices)", Read: true, Run: func(c *conform.C, q *leftjoinptr.Queries) error {
				got := conform.Many[*leftjoinptr.AuthorsWithBooksRow](c, q, "AuthorsWithBooks", c.Ctx)
				if got == nil || len(got) != 0 {
					c.Errorf("AuthorsWithBooks of no authors (%s): %#v, want an empty non-nil slice", c.Mode, got)
				}
				return nil
			}},
			{Name: "create", Run: func(c *conform.C, q *leftjoinptr.Queries) error {
				var err error
				ada, err = q.CreateAuthor(c.Ctx, leftjoinptr.CreateAuthorParams{Name: "Ada", Bio: ptr("analyst")})
				conform.NoErr(c, "CreateAuthor", err)
				bob, err = q.CreateAuthor(c.Ctx, leftjoinptr.CreateAuthorParams{Name: "Bob"})
				conform.NoErr(c, "CreateAuthor", err)
				cy, err = q.CreateAuthor(c.Ctx, leftjoinptr.CreateAuthorParams{Name: "Cy"})
				conform.NoErr(c, "CreateAuthor", err)
				notes, err = q.CreateBook(c.Ctx, leftjoinptr.CreateBookParams{AuthorID: ada.ID, Title: "Notes", Rating: ptr[int32](5)})
				conform.NoErr(c, "CreateBook", err)
				sketch, err = q.CreateBook(c.Ctx, leftjoinptr.CreateBookParams{AuthorID: ada.ID, Title: "Sketch"})
				conform.NoErr(c, "CreateBook", err)
				conform.NoErr(c, "CreateProfile", q.CreateProfile(c.Ctx, leftjoinptr.CreateProfileParams{AuthorID: bob.ID}))
				return nil
			}},
			{Name: "nullable embed of pointer fields", Read: true, Run: func(c *conform.C, q *leftjoinptr.Queries) error {
				var s leftjoinptr.Store = q // Store lists the public methods (no Querier)
				got, err := s.AuthorWithBook(c.Ctx, ada.ID)
				conform.NoErr(c, "AuthorWithBook", err)
				conform.Equal(c, "AuthorWithBook (Ada)", got, &leftjoinptr.AuthorWithBookRow{Author: *ada, Book: notes})
				got, err = s.AuthorWithBook(c.Ctx, cy.ID)
				conform.NoErr(c, "AuthorWithBook (Cy)", err)
				conform.Equal(c, "AuthorWithBook (Cy: no book)", got, &leftjoinptr.AuthorWithBookRow{Author: *cy})
				all := conform.Many[*leftjoinptr.AuthorsWithBooksRow](c, q, "AuthorsWithBooks", c.Ctx)
				conform.Equal(c, "AuthorsWithBooks", all, []*leftjoinptr.AuthorsWithBooksRow{
					{Author: *ada, Book: notes}, {Author: *ada, Book: sketch}, {Author: *bob}, {Author: *cy},
				})
				return nil
			}},
			{Name: ":opt of a result pointer", Read: true, Run: func(c *conform.C, q *leftjoinptr.Queries) error {
				got, ok := conform.Opt[*leftjoinptr.Author](c, q, "AuthorFind", c.Ctx, ada.ID)
				conform.Equal(c, "AuthorFind (Ada)", []any{got, ok}, []any{ada, true})
				got, ok = conform.Opt[*leftjoinptr.Author](c, q, "AuthorFind", c.Ctx, int64(-1))
				if ok || got != nil {
					c.Errorf("AuthorFind (nobody) (%s): %v, %v; want nil, false", c.Mode, got, ok)
				}
				return nil
			}},
			{Name: "joined row with NULL pointer columns", Read: true, Run: func(c *conform.C, q *leftjoinptr.Queries) error {
				got, err := q.AuthorProfile(c.Ctx, bob.ID)
				conform.NoErr(c, "AuthorProfile", err)
				conform.Equal(c, "AuthorProfile (Bob's all-NULL profile)", got, &leftjoinptr.AuthorProfileRow{Author: *bob, Profile: &leftjoinptr.Profile{AuthorID: bob.ID}})
				got, err = q.AuthorProfile(c.Ctx, ada.ID)
				conform.NoErr(c, "AuthorProfile", err)
				conform.Equal(c, "AuthorProfile (Ada has none)", got, &leftjoinptr.AuthorProfileRow{Author: *ada})
				return nil
			}},
			{Name: "nullable embed in batches of result pointers", Direct: true, Run: func(c *conform.C, q *leftjoinptr.Queries) error {
				var s leftjoinptr.Store = q
				var got [][]*leftjoinptr.AuthorsWithBooksBatchRow
				var errs []error
				s.AuthorsWithBooksBatch(c.Ctx, []int64{ada.ID, cy.ID, -1}).Query(func(_ int, rows []*leftjoinptr.AuthorsWithBooksBatchRow, err error) {
					got, errs = append(got, rows), append(errs, err)
				})
				conform.Equal(c, "AuthorsWithBooksBatch errors", errs, []error{nil, nil, nil})
				conform.Equal(c, "AuthorsWithBooksBatch", got, [][]*leftjoinptr.AuthorsWithBooksBatchRow{
					{{Author: *ada, Book: notes}, {Author: *ada, Book: sketch}}, {{Author: *cy}}, {},
				})
				if len(got) == 3 && got[2] == nil {
					c.Errorf("AuthorsWithBooksBatch of nobody (%s): nil, want an empty non-nil slice (emit_empty_slices)", c.Mode)
				}
				var one []*leftjoinptr.AuthorWithBookBatchRow
				errs = nil
				br := s.AuthorWithBookBatch(c.Ctx, []int64{ada.ID, cy.ID})
				br.QueryRow(func(_ int, row *leftjoinptr.AuthorWithBookBatchRow, err error) {
					one, errs = append(one, row), append(errs, err)
				})
				conform.Equal(c, "AuthorWithBookBatch errors", errs, []error{nil, nil})
				conform.Equal(c, "AuthorWithBookBatch", one, []*leftjoinptr.AuthorWithBookBatchRow{{Author: *ada, Book: notes}, {Author: *cy}})
				return nil
			}},
			{Name: "closed batchone of result pointers", Direct: true, Run: func(c *conform.C, q *leftjoinptr.Queries) error {
				br := q.AuthorWithBookBatch(c.Ctx, []int64{ada.ID})
				conform.NoErr(c, "Close", br.Close())
				calls := 0
				br.QueryRow(func(_ int, row *leftjoinptr.AuthorWithBookBatchRow, err error) {
					calls++
					if row != nil || err != leftjoinptr.ErrBatchAlreadyClosed {
						c.Errorf("AuthorWithBookBatch after Close (%s): %v, %v; want nil, ErrBatchAlreadyClosed", c.Mode, row, err)
					}
				})
				conform.Equal(c, "AuthorWithBookBatch callbacks after Close", calls, 1)
				return nil
			}},
			{Name: "column overrides", Read: true, Run: func(c *conform.C, q *leftjoinptr.Queries) error {
				none, err := q.AuthorStats(c.Ctx, cy.ID)
				conform.NoErr(c, "AuthorStats (no books)", err)
				conform.Equal(c, "AuthorStats (no books)", none, &leftjoinptr.AuthorStatsRow{})
				got, err := q.AuthorStats(c.Ctx, ada.ID)
				conform.NoErr(c, "AuthorStats", err)
				if got.Books != 2 || got.AnyRated == nil || !*got.AnyRated || got.LastWritten.Valid {
					c.Errorf("AuthorStats (Ada) (%s): %+v, want 2 books, one rated, none written", c.Mode, got)
				}
				titles := conform.Many[*leftjoinptr.RatedTitlesRow](c, q, "RatedTitles", c.Ctx)
				conform.Equal(c, "RatedTitles (notnull: *string and *int32 are string and int32)", titles, []*leftjoinptr.RatedTitlesRow{{Name: "Ada", Title: "Notes", Rating: 5}})
				return nil
			}},
			{Name: "nest and json return pointers (emit_result_struct_pointers)", Read: true, Run: func(c *conform.C, q *leftjoinptr.Queries) error {
				var s leftjoinptr.Store = q
				all := conform.Many[*leftjoinptr.AuthorsNestedRow](c, q, "AuthorsNested", c.Ctx)
				conform.Equal(c, "AuthorsNested", all, []*leftjoinptr.AuthorsNestedRow{
					{Author: *ada, Books: []leftjoinptr.Book{*notes, *sketch}}, {Author: *bob, Books: []leftjoinptr.Book{}}, {Author: *cy, Books: []leftjoinptr.Book{}},
				})
				one, err := s.AuthorNested(c.Ctx, ada.ID)
				conform.NoErr(c, "AuthorNested", err)
				conform.Equal(c, "AuthorNested (Ada)", one, &leftjoinptr.AuthorNestedRow{Author: *ada, Books: []leftjoinptr.Book{*notes, *sketch}})
				one, err = s.AuthorNested(c.Ctx, -1)
				conform.WantNotFound(c, err, "AuthorNested")
				if one != nil || err == nil || err.Error() != "AuthorNested: not found" {
					c.Errorf("AuthorNested (nobody) (%s): %v, %v; want nil and \"AuthorNested: not found\"", c.Mode, one, err)
				}
				found, ok := conform.Opt[*leftjoinptr.AuthorNestedFindRow](c, q, "AuthorNestedFind", c.Ctx, bob.ID)
				conform.Equal(c, "AuthorNestedFind (Bob)", []any{found, ok}, []any{&leftjoinptr.AuthorNestedFindRow{Author: *bob, Books: []leftjoinptr.Book{}}, true})
				found, ok = conform.Opt[*leftjoinptr.AuthorNestedFindRow](c, q, "AuthorNestedFind", c.Ctx, int64(-1))
				if ok || found != nil {
					c.Errorf("AuthorNestedFind (nobody) (%s): %v, %v; want nil, false", c.Mode, found, ok)
				}
				titles, err := s.AuthorTitlesJSON(c.Ctx, ada.ID)
				conform.NoErr(c, "AuthorTitlesJSON", err)
				conform.Equal(c, "AuthorTitlesJSON (Ada)", titles, &leftjoinptr.AuthorTitlesJSONRow{ID: ada.ID, Titles: []leftjoinptr.Title{{Title: "Notes"}, {Title: "Sketch"}}})
				return nil
			}},
		}
	})
}
