package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExpandInputEdges: what expand makes of odd input: a byte order
// mark, an annotation not in lower case, a NUL byte, a .SQL file, -from
// naming a file.
func TestExpandInputEdges(t *testing.T) {
	got, err := expandOne(t, "\ufeff-- name: A :opt\nSELECT 1 AS one;\n")
	if err != nil || !strings.HasPrefix(got, "-- name: pgkitA :one\n-- pgkit:public A\n-- pgkit:opt\n") {
		t.Errorf("a file starting with a BOM: %q, %v; want the BOM skipped and query A read", got, err)
	}
	if _, err := expandOne(t, "\ufeff-- name: A :many\n-- pgkit:optional p\nSELECT 1 LIMIT @p::int;\n"); err == nil || !strings.HasPrefix(err.Error(), "q.sql:3: query A:") {
		t.Errorf("an error after a BOM: %v, want it at q.sql:3", err)
	}
	for _, c := range []struct{ name, src, want string }{
		{"upper case", "-- name: A :many\n-- PGKIT:optional x\nSELECT * FROM t WHERE id = @x::int;\n", "q.sql:2: query A: \"-- PGKIT:\": annotations are lower case"},
		{"mixed case", "-- name: A :many\n--Pgkit:sort a x\nSELECT * FROM t;\n", "q.sql:2: query A: \"--Pgkit:\": annotations are lower case"},
		{"before any query", "-- PgKit:optional x\n-- name: A :many\nSELECT 1;\n", "q.sql:1: \"-- PgKit:\": annotations are lower case"},
		{"NUL byte", "-- name: A :one\nSELECT 1;\n-- name: B :one\nSELECT '\x00';\n", "q.sql:4: a NUL byte"},
	} {
		if got, err := expandOne(t, c.src); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: expand = %q, %v; want an error %q", c.name, got, err, c.want)
		}
	}

	dir := t.TempDir()
	from, to := filepath.Join(dir, "queries"), filepath.Join(dir, "out")
	if err := os.MkdirAll(from, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(from, "a.sql")
	if err := os.WriteFile(file, []byte("-- name: A :one\nSELECT 1;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := runExpand(file, to, false); err == nil || !strings.Contains(err.Error(), file+" is a file, not a directory") {
		t.Errorf("-from a file: %v", err)
	}
	if err := os.WriteFile(filepath.Join(from, ".hidden.sql"), []byte("-- name: H :one\nSELECT 1;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := runExpand(from, to, false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(to, ".hidden.sql")); !os.IsNotExist(err) {
		t.Errorf("a hidden file, which sqlc skips, was expanded: %v", err)
	}
	upper := filepath.Join(from, "b.SQL")
	if err := os.WriteFile(upper, []byte("-- name: B :one\nSELECT 2;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := runExpand(from, to, false); err == nil || !strings.Contains(err.Error(), upper+": sqlc reads only files ending in .sql (lower case): rename it to b.sql") {
		t.Errorf("a .SQL file: %v", err)
	}
}
