package sqllex_test

import (
	"testing"

	"github.com/shopdb/shopdb/pgkit/internal/sqllex"
)

// TestReadOnly: only what can be proven a read may go to a replica.
func TestReadOnly(t *testing.T) {
	for _, c := range []struct {
		sql  string
		want bool
	}{
		// Reads.
		{"SELECT 1", true},
		{"SeLeCt 1;", true},
		{"-- name: AccountGetByID :one\nSELECT * FROM accounts WHERE id = $1", true},
		{"/* lead */ SELECT 1", true},
		{"SELECT 'nextval(''s'')', 'INSERT INTO t', 'for update'", true},
		{"SELECT 1 -- nextval('s'); DELETE FROM t", true},
		{"SELECT /* FOR UPDATE */ * FROM t", true},
		{"SELECT /* nested /* */ nextval('s') */ 1", true},
		{"SELECT $$ nextval('s') $$, $q$ ; DELETE $q$", true},
		{"SELECT E'\\' nextval(\\'s\\')'", true},
		{`SELECT "nextval", "select", "update" FROM t`, true},
		{"WITH a AS (SELECT 1), b AS MATERIALIZED (SELECT 2) SELECT * FROM a, b", true},
		{"WITH RECURSIVE r(n) AS (VALUES (1) UNION ALL SELECT n+1 FROM r WHERE n < 3) SELECT n FROM r", true},
		{"VALUES (1), (2)", true},
		{"TABLE t", true},
		{"(SELECT 1) UNION (SELECT 2)", true},
		{"SELECT substring(s FROM 1 FOR 2) FROM t", true},
		{"SELECT my_function(1)", true}, // unknown functions are allowed
		{"SELECT pg_is_in_recovery(), now(), count(*) FROM t", true},
		{`SELECT "NEXTVAL"('s')`, true}, // a function named NEXTVAL, not nextval
		{"SELECT nextval FROM t", true}, // a column
		{"SELECT pg_advisory_xact_lock_shared FROM t", true},
		{`SELECT U&"\D83D\DE00" FROM t`, true},

		// The case: -- inside a string constant.
		{"SELECT '--', nextval('s')", false},
		{"SELECT '/*', nextval('s') -- */", false},
		// Functions that write or need the primary, however written.
		{"SELECT nextval('s')", false},
		{"SELECT NEXTVAL ('s')", false},
		{"SELECT nextval/* c */('s')", false},
		{"SELECT nextval -- c\n('s')", false},
		{`SELECT "nextval"('s')`, false},
		{"SELECT pg_catalog.nextval('s')", false},
		{`SELECT "pg_catalog"."nextval"('s')`, false},
		{`SELECT U&"nextval"('s')`, false},
		{`SELECT U&"\006Eextval"('s')`, false},
		{`SELECT U&"!006Eextval" UESCAPE '!' ('s')`, false},
		{`SELECT U&"\zzzzextval"('s')`, false}, // unreadable: not provably harmless
		{"SELECT * FROM nextval('s')", false},
		{"SELECT setval('s', 1), currval('s')", false},
		{"SELECT pg_advisory_lock(1)", false},
		{"SELECT pg_try_advisory_xact_lock(1)", false},
		{"SELECT set_config('a.b', 'c', true)", false},
		{"SELECT pg_notify('c', 'x')", false},
		{"SELECT lo_unlink(1), lo_create(0)", false},
		{"SELECT txid_current()", false},
		{"SELECT pg_current_xact_id()", false},
		{"SELECT pg_current_wal_lsn()", false},
		{"SELECT pg_promote()", false},
		{"SELECT query_to_xml('select nextval(''s'')', true, true, '')", false},
		{"SELECT 1 FROM t WHERE f(nextval('s'))", false},
		// Writes in a CTE.
		{"WITH a AS (SELECT nextval('s')) SELECT * FROM a", false},
		{"WITH x AS (INSERT INTO t VALUES (1) RETURNING *) SELECT * FROM x", false},
		{"WITH x AS (UPDATE t SET a = 1 RETURNING *) SELECT * FROM x", false},
		{"WITH x AS (DELETE FROM t RETURNING *) SELECT 1", false},
		{"with x as (select 1) insert into t select * from x", false},
		// More than one statement.
		{"SELECT 1; DELETE FROM t", false},
		{"SELECT 1;DELETE FROM t;", false},
		{"SELECT ';'; SELECT 2", false},
		// Locking clauses, wherever the comments are.
		{"SELECT * FROM t FOR UPDATE", false},
		{"SELECT * FROM t /* c */ FOR UPDATE", false},
		{"SELECT * FROM t -- c\nFOR UPDATE", false},
		{"SELECT * FROM t for no key update", false},
		{"SELECT * FROM t FOR SHARE", false},
		{"SELECT * FROM t FOR KEY SHARE OF t SKIP LOCKED", false},
		{"SELECT * FROM t FOR/**/UPDATE", false},
		// INTO creates a table.
		{"SELECT * INTO t2 FROM t", false},
		{"SELECT * INTO TEMP t2 FROM t", false},
		// Not a SELECT, VALUES, TABLE or WITH.
		{"INSERT INTO t VALUES (1)", false},
		{"UPDATE t SET x = 1", false},
		{"DELETE FROM t", false},
		{"EXPLAIN SELECT 1", false},
		{"SHOW search_path", false},
		{`"select" 1`, false},
		{"", false},
		{";", false},
		{"-- only a comment", false},
		// Unterminated: not provable.
		{"SELECT 'open", false},
		{"SELECT 1 /* open", false},
		{"SELECT $q$ open", false},
		{`SELECT "open`, false},
		// With standard_conforming_strings off, nextval is outside the
		// constants; with it on, inside.
		{`SELECT 'x\', ' , nextval('s') --'`, false},
		{`SELECT 'C:\'`, false}, // off: unterminated, so not provable
	} {
		if got := sqllex.ReadOnly(c.sql); got != c.want {
			t.Errorf("ReadOnly(%q) = %v, want %v", c.sql, got, c.want)
		}
	}
}

// TestNeedsPrimary: the documented names, prefixes included; other
// names are not.
func TestNeedsPrimary(t *testing.T) {
	for _, name := range []string{"nextval", "setval", "pg_advisory_lock", "pg_try_advisory_lock_shared",
		"set_config", "pg_notify", "lo_import", "txid_current", "pg_current_wal_insert_lsn", "dblink_exec"} {
		if !sqllex.NeedsPrimary(name) {
			t.Errorf("NeedsPrimary(%q) = false", name)
		}
	}
	for _, name := range []string{"now", "count", "pg_is_in_recovery", "nextvalue", "lower", "NEXTVAL"} {
		if sqllex.NeedsPrimary(name) {
			t.Errorf("NeedsPrimary(%q) = true", name)
		}
	}
}
