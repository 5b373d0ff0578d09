package main

import (
	"strings"
	"testing"
)

// TestOutside17NestWithResultStructPointers: README, "Adopt pgkit":
// "pgkit and pgkitgen work on any package sqlc generates for pgx/v5,
// whatever its options"; the limits of "Beyond sqlc" list no option. With
// emit_result_struct_pointers, a pgkit:nest or pgkit:json query failed
// generation ("emit_result_struct_pointers is not supported with pgkit:nest
// and pgkit:json yet"). Now the public methods return *Row, as sqlc's own
// do under the option (the corpus package leftjoinptr runs them).
func TestOutside17NestWithResultStructPointers(t *testing.T) {
	got, err := outside17Generate(t, outside17Schema, `-- name: AuthorsWithBooks :many
-- pgkit:nest books
SELECT sqlc.embed(authors), sqlc.embed(books)
FROM authors LEFT JOIN books ON books.author_id = authors.id
ORDER BY authors.id, books.id;
`, "        emit_result_struct_pointers: true\n")
	if err != nil {
		t.Fatalf("pgkit:nest under emit_result_struct_pointers: %v", err)
	}
	for _, want := range []string{"AuthorsWithBooks(ctx context.Context) ([]*AuthorsWithBooksRow, error)", "iter.Seq2[*AuthorsWithBooksRow, error]"} {
		if !strings.Contains(got, want) {
			t.Errorf("pgkit:nest under emit_result_struct_pointers: no %s in\n%s", want, got)
		}
	}
}

// TestOutside17ExpandUsageListsEveryAnnotation: expand -h lists the
// annotations "in the comment lines right after a query's -- name: line",
// and the unknown-annotation error lists six (pgkit:optional, sort,
// nullable, notnull, nest, json), but the usage leaves out pgkit:json,
// which README's "One-to-many in one statement" documents.
func TestOutside17ExpandUsageListsEveryAnnotation(t *testing.T) {
	stdout, _, _ := runCLI("expand", "-h")
	for _, a := range []string{"pgkit:optional", "pgkit:sort", "pgkit:nullable", "pgkit:notnull", "pgkit:nest", "pgkit:json"} {
		if !strings.Contains(stdout, a) {
			t.Errorf("pgkitgen expand -h does not mention %s:\n%s", a, stdout)
		}
	}
}
