package nest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/shopdb/shopdb/pgkit/internal/corpus/conform"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/nest"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// TestOutside17NestErrorsNameThePublicQuery: README, "Beyond sqlc": "pgkit's
// errors and logs name X, not pgkitX". The :opt, sort and nullable-embed
// methods run a statement of their own whose -- name: line is the public
// name; the pgkit:nest and pgkit:json methods run sqlc's hidden constant, so
// a failure of ListAuthorsWithBooks reads "pgkitListAuthorsWithBooks: …".
func TestOutside17NestErrorsNameThePublicQuery(t *testing.T) {
	pool := pgkittest.New(t, conform.Migrations(migrations))
	q := nest.New(pool)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	check := func(public string, err error) {
		t.Helper()
		var qe *pgerr.QueryError
		if !errors.As(err, &qe) {
			t.Errorf("%s on a cancelled context: %v (%T), want a *pgerr.QueryError", public, err, err)
			return
		}
		if qe.Query != public {
			t.Errorf("%s: the error names query %q (%q), want %q", public, qe.Query, err, public)
		}
	}
	_, err := q.ListAuthorsWithBooks(ctx, "A")
	check("ListAuthorsWithBooks", err)
	for _, err := range q.ListAuthorsWithBooksStream(ctx, "A") {
		check("ListAuthorsWithBooks", err)
	}
	_, err = q.GetAuthorWithBooks(ctx, 1)
	check("GetAuthorWithBooks", err)
	_, _, err = q.FindAuthorWithBooks(ctx, "Ada")
	check("FindAuthorWithBooks", err)
	_, err = q.ListAuthorsWithNotes(ctx)
	check("ListAuthorsWithNotes", err)
	_, err = q.GetAuthorPage(ctx, 1)
	check("GetAuthorPage", err)
}
