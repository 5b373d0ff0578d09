package sqllex_test

import (
	"testing"

	"github.com/shopdb/shopdb/pgkit/internal/sqllex"
)

// TestNormalize: literals become ?, comments a space; the rest stays.
// (pgslog's TestNormalize holds the cases of its scanner before this one.)
func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"ALTER ROLE app PASSWORD 'hunter2'":                       "ALTER ROLE app PASSWORD ?",
		"SELECT 'it''s', E'a\\'b', $1, x1, 42, 3.5e-3, .5 FROM t": "SELECT ?, ?, $1, x1, ?, ?, ? FROM t",
		`SELECT "we're" FROM "t""x" WHERE a = 'b' -- secret 'c'`:  `SELECT "we're" FROM "t""x" WHERE a = ?  `,
		"DO $body$ BEGIN PERFORM 'x'; END $body$; SELECT $$s$$":   "DO ?; SELECT ?",
		"SELECT /* a /* nested */ 'x' */ 1, U&'d\\0061t', X'1F'":  "SELECT   ?, ?, ?",
		"SELECT 'a'\n'secret'":                                    "SELECT ?",
		"SELECT 'a' -- secret\n'b'":                               "SELECT ?",
		"SELECT 'unterminated":                                    "SELECT ?",
		`SELECT "unterminated 'secret'`:                           "SELECT ?",
		"SELECT $q$ secret":                                       "SELECT ?",
		"SELECT 1 /* secret":                                      "SELECT ?  ",
		"SELECT a$1, $1, $ 1":                                     "SELECT a$1, $1, $ ?",
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
