package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// outside17Generate lays out a user's project as the README's "Adopt pgkit"
// and "Beyond sqlc" sections describe (schema.sql, annotated queries/,
// sqlc.yaml reading db/sql), then runs the three stages: pgkitgen expand,
// the pinned sqlc, pgkitgen. gen is extra YAML under gen.go (indented by
// eight spaces). It returns the first stage's error, if any, else
// pgkitgen's, and pgkitgen.go when written.
func outside17Generate(t *testing.T, schema, queries, gen string) (string, error) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs sqlc")
	}
	root := t.TempDir()
	files := map[string]string{
		"schema.sql":    schema,
		"queries/q.sql": queries,
		"sqlc.yaml": `version: "2"
sql:
  - engine: postgresql
    schema: schema.sql
    queries: db/sql
    gen:
      go:
        package: db
        out: db
        sql_package: pgx/v5
` + gen,
	}
	for name, src := range files {
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := runExpand(filepath.Join(root, "queries"), filepath.Join(root, "db", "sql"), false); err != nil {
		return "", err
	}
	tools, err := filepath.Abs(filepath.Join("..", "..", "..", "tools", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("go", "tool", "-modfile="+tools, "sqlc", "generate", "-f", filepath.Join(root, "sqlc.yaml")).CombinedOutput(); err != nil {
		t.Fatalf("sqlc generate: %v\n%s", err, out)
	}
	var stderr bytes.Buffer
	if err := run(filepath.Join(root, "db"), false, Options{}, &stderr); err != nil {
		return "", err
	}
	out, err := os.ReadFile(filepath.Join(root, "db", "pgkitgen.go"))
	if err != nil {
		t.Fatal(err)
	}
	return string(out), nil
}

const outside17Schema = `CREATE TABLE authors (
    id   bigserial PRIMARY KEY,
    name text NOT NULL,
    bio  text
);
CREATE TABLE books (
    id        bigserial PRIMARY KEY,
    author_id bigint NOT NULL REFERENCES authors(id),
    title     text NOT NULL,
    year      integer
);
`

// TestOutside17ColumnOverrideOfRenamedColumn: README: pgkitgen is "correct
// for every sqlc option", and "-- pgkit:notnull title" retypes a result
// column. With sqlc's rename (bio: Biography), -- pgkit:notnull bio passes
// expand (bio is the query's column) but pgkitgen then looks for a field
// Bio and fails ("the row has no such column field (its fields: ID,
// Biography)"); naming the field instead (-- pgkit:notnull biography) fails
// in expand. A renamed column cannot be overridden at all.
func TestOutside17ColumnOverrideOfRenamedColumn(t *testing.T) {
	got, err := outside17Generate(t, outside17Schema, `-- name: AuthorBio :one
-- pgkit:notnull bio
SELECT a.id, a.bio FROM authors a WHERE a.id = @id::bigint;
`, `        rename:
          bio: Biography
`)
	if err != nil {
		t.Fatalf("pgkit:notnull on a renamed column: %v", err)
	}
	if !strings.Contains(got, "Biography string") {
		t.Errorf("AuthorBioRow: want Biography string, got\n%s", got)
	}
}

// TestOutside17StageTwoErrorsNameTheSource: README, "Beyond sqlc":
// "Mistakes are errors that name queries/file.sql:line and the query", and
// pgkitgen's warnings do follow expand to the annotated source. Its errors
// do not: a sort enum that collides with a model (table book_list_sort,
// query BookList with pgkit:sort) and a column override sqlc's rename
// defeats, a pgkit:sort beside pgkit:nest (a README limit that expand
// lets through), and a pgkit:json naming no column of the query ("sqlc's
// row type int64 is not a struct of the package": it does not even name
// the column) are reported at "q.sql.go:18" and the like, in sqlc's generated file, which the
// user never wrote.
func TestOutside17StageTwoErrorsNameTheSource(t *testing.T) {
	for _, c := range []struct{ name, schema, queries, gen, line, mention string }{
		{"sort enum collides with a model",
			outside17Schema + "CREATE TABLE book_list_sort (id bigserial PRIMARY KEY);\n",
			"-- name: BookList :many\n-- pgkit:sort newest id DESC\n-- pgkit:sort oldest id\nSELECT * FROM books ORDER BY id DESC;\n",
			"", "queries/q.sql:1", "BookListSort"},
		{"override of a renamed column",
			outside17Schema,
			"-- name: Placeholder :one\nSELECT 1::int AS one;\n\n-- name: AuthorBio :one\n-- pgkit:notnull bio\nSELECT a.id, a.bio FROM authors a WHERE a.id = @id::bigint;\n",
			"        rename:\n          bio: Biography\n", "queries/q.sql:4", "bio"},
		{"override of a column the row lacks",
			outside17Schema,
			"-- name: Placeholder :one\nSELECT 1::int AS one;\n\n-- name: AuthorBio :one\n-- pgkit:notnull nope\nSELECT a.id, a.bio::text FROM authors a WHERE a.id = @id::bigint;\n",
			"        rename:\n          bio: Biography\n", "queries/q.sql:4", "pgkit:notnull nope: the row has no field for column nope (its fields: ID, "},
		{"sort beside nest",
			outside17Schema,
			"-- name: AuthorsWithBooks :many\n-- pgkit:nest books\n-- pgkit:sort by_id authors.id, books.id\n-- pgkit:sort by_name authors.name, authors.id, books.id\n" +
				"SELECT sqlc.embed(authors), sqlc.embed(books)\nFROM authors LEFT JOIN books ON books.author_id = authors.id\nORDER BY authors.id, books.id;\n",
			"", "queries/q.sql:3", "pgkit:sort"}, // expand refuses it at the sort line
		{"json of a column the query lacks",
			outside17Schema,
			"-- name: AuthorsJSON :many\n-- pgkit:json books Book\nSELECT a.id FROM authors a;\n",
			"", "queries/q.sql:2", "books"}, // expand refuses it at the json line
		{"json of a column the query lacks, past expand",
			outside17Schema,
			"-- name: Placeholder :one\nSELECT 1::int AS one;\n\n-- name: AuthorsJSON :many\n-- pgkit:json books Book\nSELECT a.id::bigint FROM authors a;\n",
			"", "queries/q.sql:4", "pgkit:json books: no such result column"}, // a cast: expand cannot name the column
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := outside17Generate(t, c.schema, c.queries, c.gen)
			if err == nil {
				t.Skip("generated: nothing to report")
			}
			msg := filepath.ToSlash(err.Error())
			if !strings.Contains(msg, c.line) || strings.Contains(msg, ".sql.go") || strings.Contains(msg, "sqlc's file") {
				t.Errorf("error %q: want it to name %s (the annotated source), not sqlc's generated file", err, c.line)
			}
			if !strings.Contains(msg, c.mention) {
				t.Errorf("error %q: want it to name %s", err, c.mention)
			}
		})
	}
}
