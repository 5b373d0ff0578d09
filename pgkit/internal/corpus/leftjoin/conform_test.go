package leftjoin_test

import (
	"embed"
	"fmt"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shopdb/shopdb/pgkit/internal/corpus/conform"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/leftjoin"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

//go:embed migrations/*.sql
var migrations embed.FS

func TestMain(m *testing.M) { os.Exit(pgkittest.Run(m)) }

func text(s string) pgtype.Text { return pgtype.Text{String: s, Valid: true} }
func int4(n int32) pgtype.Int4  { return pgtype.Int4{Int32: n, Valid: true} }
func int8(n int64) pgtype.Int8  { return pgtype.Int8{Int64: n, Valid: true} }

// collect runs the callback loop of a :batchone or :batchmany result
// (QueryRow or Query) and returns what it passed, in order.
func collect[T any](each func(func(int, T, error))) (vals []T, errs []error) {
	n := 0
	each(func(i int, v T, err error) {
		if i != n {
			errs = append(errs, fmt.Errorf("result %d passed as %d", n, i))
		}
		n++
		vals = append(vals, v)
		errs = append(errs, err)
	})
	return vals, errs
}

// TestStoreIsMockable: sqlc's Querier lists the hidden pgkit+X methods,
// unexported; pgkitgen's Store does not embed it then, so that a type
// outside the package can implement Store.
func TestStoreIsMockable(t *testing.T) {
	store, querier := reflect.TypeFor[leftjoin.Store](), reflect.TypeFor[leftjoin.Querier]()
	for i := range store.NumMethod() {
		if m := store.Method(i); !m.IsExported() {
			t.Errorf("Store has the unexported method %s", m.Name)
		}
	}
	if _, ok := store.MethodByName("AuthorWithBook"); !ok {
		t.Error("Store lacks the public AuthorWithBook")
	}
	if _, ok := querier.MethodByName("CreateAuthor"); !ok || querier.NumMethod() <= 5 {
		t.Errorf("sqlc's Querier has %d methods, want its exported ones and the hidden ones", querier.NumMethod())
	}
}

func TestConformance(t *testing.T) {
	p := conform.Package{Migrations: conform.Migrations(migrations), Queries: (*leftjoin.Queries)(nil), Batch: (*leftjoin.Batch)(nil), Decoders: leftjoin.Decoders()}
	conform.Run(t, p, leftjoin.New, func() []conform.Step[*leftjoin.Queries] {
		var ada, bob, cy leftjoin.Author
		var notes, sketch, engine leftjoin.Book
		var boss, alice, carl leftjoin.Employee
		var aal, anon leftjoin.PenName
		written := time.Date(1843, time.October, 1, 12, 0, 0, 0, time.UTC)
		return []conform.Step[*leftjoin.Queries]{
			{Name: "create", Run: func(c *conform.C, q *leftjoin.Queries) error {
				var err error
				for _, a := range []struct {
					to   *leftjoin.Author
					name string
					bio  pgtype.Text
				}{{&ada, "Ada", text("analyst")}, {&bob, "Bob", pgtype.Text{}}, {&cy, "Cy", pgtype.Text{}}} {
					*a.to, err = q.CreateAuthor(c.Ctx, leftjoin.CreateAuthorParams{Name: a.name, Bio: a.bio})
					conform.NoErr(c, "CreateAuthor", err)
				}
				for _, b := range []struct {
					to     *leftjoin.Book
					params leftjoin.CreateBookParams
				}{
					{&notes, leftjoin.CreateBookParams{AuthorID: ada.ID, Title: "Notes", Rating: int4(5), WrittenAt: pgtype.Timestamptz{Time: written, Valid: true}}},
					{&sketch, leftjoin.CreateBookParams{AuthorID: ada.ID, Title: "Sketch"}},
					{&engine, leftjoin.CreateBookParams{AuthorID: bob.ID, Title: "Engine", Rating: int4(3)}},
				} {
					*b.to, err = q.CreateBook(c.Ctx, b.params)
					conform.NoErr(c, "CreateBook", err)
				}
				conform.NoErr(c, "CreateProfile", q.CreateProfile(c.Ctx, leftjoin.CreateProfileParams{AuthorID: ada.ID, Website: text("ada.example")}))
				// Bob's profile row exists with every column but its key NULL.
				conform.NoErr(c, "CreateProfile", q.CreateProfile(c.Ctx, leftjoin.CreateProfileParams{AuthorID: bob.ID}))
				aal, err = q.CreatePenName(c.Ctx, leftjoin.CreatePenNameParams{AuthorID: int8(ada.ID), PenName: "A.A.L."})
				conform.NoErr(c, "CreatePenName", err)
				anon, err = q.CreatePenName(c.Ctx, leftjoin.CreatePenNameParams{PenName: "Anonymous"})
				conform.NoErr(c, "CreatePenName", err)
				boss, err = q.CreateEmployee(c.Ctx, leftjoin.CreateEmployeeParams{Name: "boss"})
				conform.NoErr(c, "CreateEmployee", err)
				alice, err = q.CreateEmployee(c.Ctx, leftjoin.CreateEmployeeParams{Name: "alice", ManagerID: int8(boss.ID)})
				conform.NoErr(c, "CreateEmployee", err)
				carl, err = q.CreateEmployee(c.Ctx, leftjoin.CreateEmployeeParams{Name: "carl", ManagerID: int8(alice.ID)})
				conform.NoErr(c, "CreateEmployee", err)
				return nil
			}},
			{Name: "LEFT JOIN embed :one (sqlc #2348)", Read: true, Run: func(c *conform.C, q *leftjoin.Queries) error {
				var s leftjoin.Store = q // the public methods through pgkitgen's Store
				got, err := s.AuthorWithBook(c.Ctx, ada.ID)
				conform.NoErr(c, "AuthorWithBook", err)
				conform.Equal(c, "AuthorWithBook (Ada)", got, leftjoin.AuthorWithBookRow{Author: ada, Book: &notes})
				got, err = s.AuthorWithBook(c.Ctx, cy.ID)
				conform.NoErr(c, "AuthorWithBook (book-less Cy: no NULL scan error)", err)
				if got.Book != nil {
					c.Errorf("AuthorWithBook (Cy) (%s): book %+v, want nil", c.Mode, got.Book)
				}
				conform.Equal(c, "AuthorWithBook (Cy)", got, leftjoin.AuthorWithBookRow{Author: cy})
				_, err = s.AuthorWithBook(c.Ctx, -1)
				conform.WantNotFound(c, err, "AuthorWithBook") // named by the public name, not pgkitAuthorWithBook
				return nil
			}},
			{Name: "LEFT JOIN embed :many (sqlc #2997)", Read: true, Run: func(c *conform.C, q *leftjoin.Queries) error {
				got := conform.Many[leftjoin.AuthorsWithBooksRow](c, q, "AuthorsWithBooks", c.Ctx)
				conform.Equal(c, "AuthorsWithBooks", got, []leftjoin.AuthorsWithBooksRow{
					{Author: ada, Book: &notes}, {Author: ada, Book: &sketch}, {Author: bob, Book: &engine}, {Author: cy},
				})
				return nil
			}},
			{Name: "missing joined row beside a column (sqlc #3240)", Read: true, Run: func(c *conform.C, q *leftjoin.Queries) error {
				got := conform.Many[leftjoin.BookTitlesByAuthorRow](c, q, "BookTitlesByAuthor", c.Ctx, int4(4))
				conform.Equal(c, "BookTitlesByAuthor (rating >= 4)", got, []leftjoin.BookTitlesByAuthorRow{
					{Name: "Ada", Book: &notes}, {Name: "Bob"}, {Name: "Cy"},
				})
				got = conform.Many[leftjoin.BookTitlesByAuthorRow](c, q, "BookTitlesByAuthor", c.Ctx, pgtype.Int4{})
				conform.Equal(c, "BookTitlesByAuthor (NULL: no book joins)", got, []leftjoin.BookTitlesByAuthorRow{
					{Name: "Ada"}, {Name: "Bob"}, {Name: "Cy"},
				})
				return nil
			}},
			{Name: "joined row with NULL columns is not nil", Read: true, Run: func(c *conform.C, q *leftjoin.Queries) error {
				got, err := q.AuthorProfile(c.Ctx, ada.ID)
				conform.NoErr(c, "AuthorProfile", err)
				conform.Equal(c, "AuthorProfile (Ada)", got, leftjoin.AuthorProfileRow{Author: ada, Profile: &leftjoin.Profile{AuthorID: ada.ID, Website: text("ada.example")}})
				got, err = q.AuthorProfile(c.Ctx, bob.ID)
				conform.NoErr(c, "AuthorProfile", err)
				conform.Equal(c, "AuthorProfile (Bob's all-NULL profile)", got, leftjoin.AuthorProfileRow{Author: bob, Profile: &leftjoin.Profile{AuthorID: bob.ID}})
				got, err = q.AuthorProfile(c.Ctx, cy.ID)
				conform.NoErr(c, "AuthorProfile", err)
				conform.Equal(c, "AuthorProfile (Cy has none)", got, leftjoin.AuthorProfileRow{Author: cy})
				return nil
			}},
			{Name: "self-join, two embeds of one table", Read: true, Run: func(c *conform.C, q *leftjoin.Queries) error {
				got := conform.Many[leftjoin.EmployeesWithManagersRow](c, q, "EmployeesWithManagers", c.Ctx)
				conform.Equal(c, "EmployeesWithManagers", got, []leftjoin.EmployeesWithManagersRow{
					{Employee: boss}, {Employee: alice, Employee_2: &boss}, {Employee: carl, Employee_2: &alice},
				})
				return nil
			}},
			{Name: "RIGHT and FULL JOIN", Read: true, Run: func(c *conform.C, q *leftjoin.Queries) error {
				right := conform.Many[leftjoin.PenNamesWithAuthorsRow](c, q, "PenNamesWithAuthors", c.Ctx)
				conform.Equal(c, "PenNamesWithAuthors", right, []leftjoin.PenNamesWithAuthorsRow{
					{Author: &ada, PenName: aal}, {PenName: anon},
				})
				full := conform.Many[leftjoin.AuthorsAndPenNamesRow](c, q, "AuthorsAndPenNames", c.Ctx)
				conform.Equal(c, "AuthorsAndPenNames", full, []leftjoin.AuthorsAndPenNamesRow{
					{Author: &ada, PenName: &aal}, {Author: &bob}, {Author: &cy}, {PenName: &anon},
				})
				return nil
			}},
			{Name: "column overrides", Read: true, Run: func(c *conform.C, q *leftjoin.Queries) error {
				// Over no rows max() and bool_or() are NULL: AnyRated is a
				// *bool (sqlc says bool, whose scan would fail).
				none, err := q.AuthorStats(c.Ctx, cy.ID)
				conform.NoErr(c, "AuthorStats (no books)", err)
				conform.Equal(c, "AuthorStats (no books)", none, leftjoin.AuthorStatsRow{Books: 0})
				got, err := q.AuthorStats(c.Ctx, ada.ID)
				conform.NoErr(c, "AuthorStats", err)
				if got.Books != 2 || got.AnyRated == nil || !*got.AnyRated || !got.LastWritten.Valid || !got.LastWritten.Time.Equal(written) {
					c.Errorf("AuthorStats (Ada) (%s): %+v, want 2 books, any rated, last written %v", c.Mode, got, written)
				}
				// notnull: sqlc's pgtype.Text and pgtype.Int4 are string and int32.
				titles := conform.Many[leftjoin.RatedTitlesRow](c, q, "RatedTitles", c.Ctx)
				conform.Equal(c, "RatedTitles", titles, []leftjoin.RatedTitlesRow{
					{Name: "Ada", Title: "Notes", Rating: 5}, {Name: "Bob", Title: "Engine", Rating: 3},
				})
				return nil
			}},
			{Name: "LEFT JOIN embed :batchmany", Direct: true, Run: func(c *conform.C, q *leftjoin.Queries) error {
				var s leftjoin.Store = q // the public batch through pgkitgen's Store
				got, errs := collect(s.AuthorsWithBooksBatch(c.Ctx, []int64{ada.ID, cy.ID, -1}).Query)
				conform.Equal(c, "AuthorsWithBooksBatch errors", errs, []error{nil, nil, nil})
				conform.Equal(c, "AuthorsWithBooksBatch", got, [][]leftjoin.AuthorsWithBooksBatchRow{
					{{Author: ada, Book: &notes}, {Author: ada, Book: &sketch}}, {{Author: cy}}, nil,
				})
				return nil
			}},
			{Name: "LEFT JOIN embed :batchone", Direct: true, Run: func(c *conform.C, q *leftjoin.Queries) error {
				got, errs := collect(q.AuthorWithBookBatch(c.Ctx, []int64{bob.ID, cy.ID, -1}).QueryRow)
				conform.Equal(c, "AuthorWithBookBatch results", len(errs), 3)
				conform.NoErr(c, "AuthorWithBookBatch (Bob)", errs[0])
				conform.NoErr(c, "AuthorWithBookBatch (book-less Cy: no NULL scan error)", errs[1])
				conform.Equal(c, "AuthorWithBookBatch", got[:2], []leftjoin.AuthorWithBookBatchRow{{Author: bob, Book: &engine}, {Author: cy}})
				conform.WantNotFound(c, errs[2], "AuthorWithBookBatch") // named by the public name
				return nil
			}},
			{Name: "column overrides in batches", Direct: true, Run: func(c *conform.C, q *leftjoin.Queries) error {
				titles, errs := collect(q.RatedTitlesBatch(c.Ctx, []leftjoin.RatedTitlesBatchParams{
					{AuthorID: ada.ID, MinRating: int4(1)}, {AuthorID: cy.ID, MinRating: int4(1)}, {AuthorID: bob.ID, MinRating: int4(3)},
				}).Query)
				conform.Equal(c, "RatedTitlesBatch errors", errs, []error{nil, nil, nil})
				conform.Equal(c, "RatedTitlesBatch", titles, [][]leftjoin.RatedTitlesBatchRow{
					{{Name: "Ada", Title: "Notes", Rating: 5}}, nil, {{Name: "Bob", Title: "Engine", Rating: 3}},
				})
				// bool_or over no books is NULL: a nil *bool, not a scan error.
				rated, errs := collect(q.AnyRatedBatch(c.Ctx, []int64{ada.ID, cy.ID}).QueryRow)
				conform.Equal(c, "AnyRatedBatch errors", errs, []error{nil, nil})
				if len(rated) != 2 || rated[0] == nil || !*rated[0] || rated[1] != nil {
					c.Errorf("AnyRatedBatch (%s): %v, want [true nil]", c.Mode, rated)
				}
				return nil
			}},
			{Name: "closed batch", Direct: true, Run: func(c *conform.C, q *leftjoin.Queries) error {
				br := q.AuthorsWithBooksBatch(c.Ctx, []int64{ada.ID, bob.ID})
				conform.NoErr(c, "Close", br.Close())
				_, errs := collect(br.Query)
				conform.Equal(c, "AuthorsWithBooksBatch after Close", errs, []error{leftjoin.ErrBatchAlreadyClosed, leftjoin.ErrBatchAlreadyClosed})
				return nil
			}},
			{Name: "column override of a model row", Read: true, Run: func(c *conform.C, q *leftjoin.Queries) error {
				got := conform.Many[leftjoin.AuthorsWithBioRow](c, q, "AuthorsWithBio", c.Ctx)
				conform.Equal(c, "AuthorsWithBio", got, []leftjoin.AuthorsWithBioRow{{ID: ada.ID, Name: "Ada", Bio: "analyst"}})
				return nil
			}},
		}
	})
}
