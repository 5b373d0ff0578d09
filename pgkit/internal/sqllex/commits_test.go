package sqllex

import "testing"

// TestCommitsMidway: CALL and DO statements, wherever they are in the
// text, may commit before they end; other statements, and the words in
// literals, comments and quoted names, do not; text that ends inside a
// literal counts as committing.
func TestCommitsMidway(t *testing.T) {
	for sql, want := range map[string]bool{
		"CALL retry_proc($1, $2)":              true,
		"  call p()":                           true,
		"/* first */ CALL p()":                 true,
		"-- name: Proc :exec\nCALL p($1)":      true,
		"SELECT 1; CALL p()":                   true,
		"DO $$ BEGIN COMMIT; END $$":           true,
		"SELECT 'CALL p()'":                    false,
		"SELECT $$CALL$$":                      false,
		`SELECT "call"()`:                      false,
		"/* CALL p() */ SELECT 1":              false,
		"INSERT INTO t (call) VALUES ('call')": false,
		"SELECT 'unterminated":                 true,
		"SELECT '\\'; CALL p(); --'":           true, // with standard_conforming_strings on, CALL is outside the literal
		"SELECT '\\''; CALL p(); --'":          true, // with it off
		"SELECT E'\\'; CALL p(); --'":          false,
	} {
		if got := CommitsMidway(sql); got != want {
			t.Errorf("CommitsMidway(%q) = %v, want %v", sql, got, want)
		}
	}
}
