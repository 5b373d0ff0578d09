package ptrs_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/shopdb/shopdb/pgkit/internal/corpus/conform"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/ptrs"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// TestCopyNilRowIsAnError: a nil row among the pointers given to the
// :copyfrom method (through pgkit) or yielded to its Seq fails the COPY
// with an error naming the query and the row, instead of panicking, and
// stores nothing.
func TestCopyNilRowIsAnError(t *testing.T) {
	db := pgkittest.New(t, conform.Migrations(migrations))
	q := ptrs.New(db)
	rows := []*ptrs.CopyProductsParams{{Sku: "n1", PriceCents: 1}, nil, {Sku: "n3", PriceCents: 3}}
	for name, copyRows := range map[string]func() (int64, error){
		"CopyProducts":    func() (int64, error) { return q.CopyProducts(t.Context(), rows) },
		"CopyProductsSeq": func() (int64, error) { return q.CopyProductsSeq(t.Context(), slices.Values(rows)) },
	} {
		var err error
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s with a nil row panicked: %v", name, r)
				}
			}()
			_, err = copyRows()
		}()
		if err == nil || !strings.Contains(err.Error(), "CopyProducts") || !strings.Contains(err.Error(), "row 2") {
			t.Errorf("%s with a nil second row: %v, want an error naming CopyProducts and row 2", name, err)
		}
	}
	var n int
	if err := db.QueryRow(t.Context(), `SELECT count(*) FROM products`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d products stored (%v), want none", n, err)
	}
}
