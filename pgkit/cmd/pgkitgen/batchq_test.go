package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGenerateBatchNames: the Batch type steps aside for a type of the
// package named Batch (PgkitBatch, or -batch's name), and -batch naming a
// type the package declares is refused.
func TestGenerateBatchNames(t *testing.T) {
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
	if err := os.WriteFile(filepath.Join(dir, "mine.go"), []byte("package kitdb\n\n// Batch is the user's own.\ntype Batch struct{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := Generate(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "type PgkitBatch struct") || !strings.Contains(string(out), "func (b *PgkitBatch) AccountGetByID(dst *Account, accountID int64)") {
		t.Fatal("with a Batch of the package's own, no PgkitBatch with AccountGetByID was generated")
	}
	out, err = Generate(dir, Options{Batch: "Queued"})
	if err != nil || !strings.Contains(string(out), "func (b *Queued) Send(ctx context.Context, db DBTX) error") {
		t.Fatalf("-batch Queued: %v", err)
	}
	if _, err := Generate(dir, Options{Batch: "Batch"}); err == nil || !strings.Contains(err.Error(), "-batch Batch") {
		t.Fatalf("-batch naming the package's own type: %v, want an error naming -batch", err)
	}
}
