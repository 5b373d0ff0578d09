package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// kitdb is the sqlc package of pgkit's own tests, generated with pgkitgen.
var kitdb = filepath.Join("..", "..", "internal", "kitdb")

// TestGeneratedFileIsCurrent: internal/kitdb/pgkitgen.go is what pgkitgen
// makes of sqlc's output today (as `make check` runs it with -check).
func TestGeneratedFileIsCurrent(t *testing.T) {
	dir := kitdb
	want, err := Generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, outName))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("internal/kitdb/pgkitgen.go is stale: run go generate ./...")
	}
	// One Stream per :many query of sqlc's output, one Seq per :copyfrom.
	src, _ := os.ReadFile(filepath.Join(dir, "querier.go"))
	many := strings.Count(string(src), ") ([]")
	copies := strings.Count(string(src), "ManyParams) (int64, error)")
	if n := strings.Count(string(got), "Stream(ctx context.Context"); n != 2*many { // interface + method
		t.Errorf("%d Stream declarations for %d :many queries", n, many)
	}
	if n := strings.Count(string(got), "Seq(ctx context.Context"); n != copies {
		t.Errorf("%d Seq methods for %d :copyfrom queries", n, copies)
	}
	if err := run(dir, true); err != nil {
		t.Errorf("-check on a current file: %v", err)
	}
}

func TestCheckFailsOnStaleFile(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"db.go", "querier.go", "accounts.sql.go", "copyfrom.go", "models.go"} {
		b, err := os.ReadFile(filepath.Join(kitdb, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := run(dir, true); err == nil || !strings.Contains(err.Error(), "stale") {
		t.Fatalf("-check without the file: %v, want a stale error", err)
	}
	if err := run(dir, false); err != nil {
		t.Fatal(err)
	}
	if err := run(dir, true); err != nil {
		t.Fatalf("-check after generating: %v", err)
	}
	out, _ := os.ReadFile(filepath.Join(dir, outName))
	if !strings.Contains(string(out), "func (q *Queries) AccountExportStream(ctx context.Context, afterAccountID int64) iter.Seq2[Account, error]") ||
		!strings.Contains(string(out), "func (q *Queries) AccountCreateManySeq(") || strings.Contains(string(out), "JobListByAccountStream") {
		t.Fatalf("generated from accounts.sql.go only:\n%s", out)
	}
}

func TestGenerateNeedsSQLCOutput(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x.go"), []byte("package x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(dir); err == nil || !strings.Contains(err.Error(), "no sqlc-generated Go files") {
		t.Fatalf("Generate on a package without sqlc output: %v", err)
	}
}
