package main

import (
	"strings"
	"testing"
)

// TestOutside17NestWithResultStructPointers: README, "Adopt pgkit":
// "pgkit and pgkitgen work on any package sqlc generates for pgx/v5,
// whatever its options"; the limits of "Beyond sqlc" list no option. With
// emit_result_struct_pointers, a pgkit:nest or pgkit:json query fails
// generation ("emit_result_struct_pointers is not supported with pgkit:nest
// and pgkit:json yet"): an option the README says works, refused, and the
// limit is not among the README's.
func TestOutside17NestWithResultStructPointers(t *testing.T) {
	_, err := outside17Generate(t, outside17Schema, `-- name: AuthorsWithBooks :many
-- pgkit:nest books
SELECT sqlc.embed(authors), sqlc.embed(books)
FROM authors LEFT JOIN books ON books.author_id = authors.id
ORDER BY authors.id, books.id;
`, "        emit_result_struct_pointers: true\n")
	if err != nil {
		t.Errorf("pgkit:nest under emit_result_struct_pointers: %v", err)
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
