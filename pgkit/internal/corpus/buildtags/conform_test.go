//go:build !pgkit_nocorpus

package buildtags_test

import (
	"embed"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shopdb/shopdb/pgkit/internal/corpus/buildtags"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/conform"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

//go:embed migrations/*.sql
var migrations embed.FS

func TestMain(m *testing.M) { os.Exit(pgkittest.Run(m)) }

// TestBuildTagsCoverPgkitgensFile: with the tag that sqlc's build_tags
// excludes, no file of the package is left, pgkitgen's included (were it
// left, the package would not compile: it refers to sqlc's Queries).
func TestBuildTagsCoverPgkitgensFile(t *testing.T) {
	out, err := exec.Command("go", "list", "-tags", "pgkit_nocorpus", "-f", "{{.GoFiles}}", ".").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "build constraints exclude all Go files") {
		t.Fatalf("go list -tags pgkit_nocorpus: %v\n%s\nwant every file excluded", err, out)
	}
}

func TestConformance(t *testing.T) {
	p := conform.Package{Migrations: conform.Migrations(migrations), Queries: (*buildtags.Queries)(nil), Batch: (*buildtags.Batch)(nil), Decoders: buildtags.Decoders()}
	conform.Run(t, p, buildtags.New, func() []conform.Step[*buildtags.Queries] {
		var ada buildtags.AuthorCreateRow
		var books []buildtags.Books
		return []conform.Step[*buildtags.Queries]{
			{Name: "create", Run: func(c *conform.C, q *buildtags.Queries) error {
				var err error
				ada, err = q.AuthorCreate(c.Ctx, buildtags.AuthorCreateParams{Name: "Ada", Email: "ada@example.com"})
				conform.NoErr(c, "AuthorCreate", err)
				conform.Equal(c, "Ada's bio", ada.Bio, pgtype.Text{})
				for _, title := range []string{"Sketch", "Notes"} {
					b, err := q.BookCreate(c.Ctx, buildtags.BookCreateParams{AuthorID: ada.ID, Title: title})
					conform.NoErr(c, "BookCreate", err)
					books = append(books, b)
				}
				return nil
			}},
			{Name: "unique", Run: func(c *conform.C, q *buildtags.Queries) error {
				_, err := q.AuthorCreate(c.Ctx, buildtags.AuthorCreateParams{Name: "Ada", Email: "ada@example.com"})
				conform.WantConstraint(c, err, "AuthorCreate", pgerr.ConstraintUnique, "authors_email_key")
				return err
			}},
			{Name: "not found", Read: true, Run: func(c *conform.C, q *buildtags.Queries) error {
				_, err := q.AuthorGet(c.Ctx, -1)
				conform.WantNotFound(c, err, "AuthorGet")
				return nil
			}},
			{Name: "lists", Read: true, Run: func(c *conform.C, q *buildtags.Queries) error {
				conform.Equal(c, "BookList", conform.Many[buildtags.Books](c, q, "BookList", c.Ctx, ada.ID), []buildtags.Books{books[1], books[0]})
				conform.Equal(c, "BookList of nobody", len(conform.Many[buildtags.Books](c, q, "BookList", c.Ctx, int64(-1))), 0)
				conform.Equal(c, "BookTitleIDs", conform.Many[int64](c, q, "BookTitleIDs", c.Ctx), []int64{books[0].ID, books[1].ID})
				return nil
			}},
		}
	})
}
