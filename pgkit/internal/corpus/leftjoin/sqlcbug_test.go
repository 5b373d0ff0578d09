package leftjoin

import (
	"embed"
	"strings"
	"testing"

	"github.com/shopdb/shopdb/pgkit/internal/corpus/conform"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

//go:embed migrations/*.sql
var migrations embed.FS

// TestSqlcScansNullIntoValues: what the public methods fix. sqlc's own
// methods (the hidden ones pgkitgen publishes) fail on a book-less author
// (sqlc #2348: the LEFT JOINed embed's NULLs scanned into int64) and on
// bool_or over no rows (typed bool).
func TestSqlcScansNullIntoValues(t *testing.T) {
	db := pgkittest.New(t, conform.Migrations(migrations))
	q := New(db)
	cy, err := q.CreateAuthor(t.Context(), CreateAuthorParams{Name: "Cy"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.pgkitAuthorWithBook(t.Context(), cy.ID); err == nil || !strings.Contains(err.Error(), "cannot scan NULL") {
		t.Errorf("sqlc's AuthorWithBook of a book-less author: %v, want its NULL scan error", err)
	}
	if _, err := q.pgkitAuthorStats(t.Context(), cy.ID); err == nil || !strings.Contains(err.Error(), "cannot scan NULL") {
		t.Errorf("sqlc's AuthorStats over no books: %v, want its NULL scan error", err)
	}
	if got, err := q.AuthorWithBook(t.Context(), cy.ID); err != nil || got.Book != nil {
		t.Errorf("the public AuthorWithBook: %+v, %v; want a nil book", got, err)
	}
}
