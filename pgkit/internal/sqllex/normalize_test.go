package sqllex_test

import (
	"testing"

	"github.com/shopdb/shopdb/pgkit/internal/sqllex"
)

// TestNormalize: literals become ?, comments a space; the rest stays.
// pgslog's TestNormalize (pgslog.Normalize is this one) has the cases of
// the scanner it had before; these are the ones that scanner got wrong.
func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"SELECT 'a'\n'secret'":          "SELECT ?",
		"SELECT 'a' -- secret\n'b'":     "SELECT ?",
		"SELECT 'unterminated":          "SELECT ?",
		`SELECT "unterminated 'secret'`: "SELECT ?",
		"SELECT $q$ secret":             "SELECT ?",
		"SELECT 1 /* secret":            "SELECT ?  ",
		"SELECT a$1, $1, $ 1":           "SELECT a$1, $1, $ ?",
		// standard_conforming_strings off would read 'C:\' FROM t' as
		// a string left open: from there on, one ?.
		`SELECT 'C:\' FROM t WHERE p = 'secret'`: "SELECT ?",
		`SELECT 'a\\b' FROM t`:                   "SELECT ? FROM t", // the same tokens either way
	} {
		if got := sqllex.Normalize(in); got != want {
			t.Errorf("Normalize(%q)\n got %q\nwant %q", in, got, want)
		}
	}
}
