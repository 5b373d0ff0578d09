package sqllex_test

import (
	"testing"

	"github.com/shopdb/shopdb/pgkit/internal/sqllex"
)

// TestSessionChange: what would outlive a statement on a shared
// connection is named; look-alikes are not.
func TestSessionChange(t *testing.T) {
	const notLocal = "set_config(…) not provably local"
	for _, c := range []struct{ sql, want string }{
		// Leading keywords (the multiplexer's list before the lexer).
		{"SET statement_timeout = 1", "SET"},
		{"-- name: X :exec\nset  search_path = nowhere", "SET"},
		{"SET SESSION statement_timeout = 1", "SET"},
		{"SET ROLE nobody", "SET"},
		{"SET TIME ZONE 'UTC'", "SET"},
		{"/* c */ RESET ALL", "RESET"},
		{"BEGIN", "BEGIN"},
		{"start transaction", "START"},
		{"COMMIT", "COMMIT"},
		{"END", "END"},
		{"ROLLBACK", "ROLLBACK"},
		{"ABORT", "ABORT"},
		{"SAVEPOINT s", "SAVEPOINT"},
		{"RELEASE s", "RELEASE"},
		{"PREPARE p AS SELECT 1", "PREPARE"},
		{"DEALLOCATE ALL", "DEALLOCATE"},
		{"DISCARD ALL", "DISCARD"},
		{"LISTEN chan", "LISTEN"},
		{"UNLISTEN *", "UNLISTEN"},
		{"DECLARE c CURSOR WITH HOLD FOR SELECT 1", "DECLARE"},
		{"CLOSE c", "CLOSE"},
		{"FETCH c", "FETCH"},
		{"MOVE c", "MOVE"},
		{"LOAD 'auto_explain'", "LOAD"},
		{"(((BEGIN", "BEGIN"},
		{"SELECT 1; SET x = 1", "SET"},
		// Temporary objects.
		{"CREATE TEMP TABLE t (x int)", "CREATE TEMPORARY"},
		{"create temporary table t (x int)", "CREATE TEMPORARY"},
		{"CREATE OR REPLACE TEMP VIEW v AS SELECT 1", "CREATE TEMPORARY"},
		{"CREATE TEMP RECURSIVE VIEW v(n) AS SELECT 1", "CREATE TEMPORARY"},
		{"CREATE GLOBAL TEMPORARY TABLE t (x int)", "CREATE TEMPORARY"},
		{"CREATE LOCAL TEMP SEQUENCE s", "CREATE TEMPORARY"},
		{"/* a */ -- b\n CREATE /* c */ TEMP TABLE t ()", "CREATE TEMPORARY"},
		{"CREATE TEMP TABLE t AS SELECT 1", "CREATE TEMPORARY"},
		{"SELECT * INTO TEMP t FROM x", "SELECT INTO"},
		{"SELECT 1 AS a INTO t", "SELECT INTO"},
		{"select 1 as a into unlogged t", "SELECT INTO"},
		{"WITH a AS (SELECT 1) SELECT * INTO t FROM a", "SELECT INTO"},
		{"SELECT * FROM pg_temp.t", "pg_temp"},
		{`SELECT * FROM "pg_temp".t`, "pg_temp"},
		{`SELECT * FROM PG_TEMP.t`, "pg_temp"},
		{"SELECT * FROM pg_temp_3.t", "pg_temp"},
		{"CREATE TABLE pg_temp.t (x int)", "pg_temp"},
		{"CREATE FUNCTION pg_temp.f() RETURNS int LANGUAGE sql AS 'SELECT 1'", "pg_temp"},
		{`SELECT * FROM U&"pg\005Ftemp".t`, "pg_temp"},
		{`SELECT * FROM U&"pg!005Ftemp" UESCAPE '!' .t`, "pg_temp"},
		// pg_settings' update rule is a SET.
		{"UPDATE pg_settings SET setting = 'x' WHERE name = 'search_path'", "UPDATE pg_settings"},
		{`update PG_CATALOG."pg_settings" s SET setting = '7s' WHERE s.name = 'statement_timeout'`, "UPDATE pg_settings"},
		// EXPLAIN ANALYZE runs its statement.
		{"EXPLAIN ANALYZE CREATE TEMP TABLE t AS SELECT 1", "CREATE TEMPORARY"},
		{"EXPLAIN (ANALYZE, COSTS OFF) CREATE TEMP TABLE t AS SELECT 1", "CREATE TEMPORARY"},
		{"EXPLAIN ANALYZE VERBOSE SELECT 1 INTO t", "SELECT INTO"},
		{"EXPLAIN ANALYZE SELECT pg_advisory_lock(1)", "session advisory lock"},
		// DO blocks can do anything.
		{"DO $$ BEGIN SET search_path = x; END $$", "DO block"},
		{"do language plpgsql 'begin perform 1; end'", "DO block"},
		// Session advisory locks and other session-level functions.
		{"SELECT pg_advisory_lock(1)", "session advisory lock"},
		{"SELECT pg_try_advisory_lock_shared(1)", "session advisory lock"},
		{"SELECT pg_advisory_unlock_all()", "session advisory lock"},
		{`SELECT "pg_advisory_lock"(1)`, "session advisory lock"},
		{"SELECT pg_catalog.PG_ADVISORY_LOCK (1)", "session advisory lock"},
		{`SELECT U&"!0070g_advisory_lock" UESCAPE '!' (1)`, "session advisory lock"},
		{"SELECT x FROM t WHERE pg_try_advisory_lock(t.id)", "session advisory lock"},
		{"SELECT setseed(0.5)", "setseed"},
		{"SELECT currval('s')", "currval"},
		{"COPY t FROM STDIN", "COPY (use CopyFrom or pgkit.CopyTo)"},
		{"/* x */ copy (SELECT 1) TO STDOUT", "COPY (use CopyFrom or pgkit.CopyTo)"},
		{"SELECT lastval()", "lastval"},
		{"SELECT 'currval(s)', \"currval\"", ""},
		{"SELECT dblink_connect('c', 'dbname=x')", "dblink connection"},
		// set_config is local only when its third argument is literally true.
		{"SELECT set_config('statement_timeout', '1', false)", "set_config(…, false)"},
		{"SELECT set_config('x.y', 'z', FALSE)", "set_config(…, false)"},
		{"SELECT set_config('x.y','z','f')", "set_config(…, false)"},
		{"SELECT set_config('x.y','z','false')", "set_config(…, false)"},
		{"SELECT set_config('x.y','z','off')", "set_config(…, false)"},
		{"SELECT set_config('x.y','z','0')", "set_config(…, false)"},
		{"SELECT set_config('x.y','z','no')", "set_config(…, false)"},
		{"SELECT set_config('x.y', $1, $2)", notLocal},
		{"SELECT set_config('x.y', 'z', 0)", notLocal},
		{"SELECT set_config('x.y', 'z', true::bool)", notLocal},
		{"SELECT set_config('x.y', 'z', (true))", notLocal},
		{"SELECT set_config('x.y', 'z', NOT false)", notLocal},
		{"SELECT set_config('x.y', 'z', 'maybe')", notLocal},
		{"SELECT set_config('x.y', 'z', E't')", notLocal},
		{"SELECT set_config('x.y', 'z', 'tr''')", notLocal},
		{"SELECT set_config('x.y', 'z', is_local => true)", notLocal},
		{"SELECT set_config('x.y', 'z')", notLocal},
		{"SELECT set_config('x.y', 'z', true, true)", notLocal},
		{"SELECT set_config('x.y', 'z', true", notLocal},
		{`SELECT "set_config"('x.y', 'z', false)`, "set_config(…, false)"},
		{"SELECT pg_catalog.set_config('x.y', 'z', $1)", notLocal},
		{"SELECT set_config('x.y', 'z', true), set_config('x.y', 'z', false)", "set_config(…, false)"},
		// Unprovable text.
		{"SELECT 'open", "unterminated string constant"},
		{"SELECT 1 /* open", "unterminated comment"},
		{"SELECT $q$ open", "unterminated dollar-quoted string"},
		{`SELECT "open`, "unterminated quoted identifier"},
		{`SELECT U&"\zzzz" FROM t`, "identifier with unreadable Unicode escapes"},
		// With standard_conforming_strings off the call is outside the
		// constants.
		{`SELECT 'x\', ' , pg_advisory_lock(1) --'`, "session advisory lock"},

		// Harmless look-alikes.
		{"SELECT 'SET x'", ""},
		{"SELECT 'SET x = 1'", ""},
		{"SELECT 1 -- CREATE TEMP", ""},
		{"SELECT 1 /* ; SET x = 1 */", ""},
		{"SELECT $$; BEGIN$$", ""},
		{`SELECT "set", "begin", "pg_temp" || 'x' FROM t`, "pg_temp"}, // a name pg_temp is refused even as a column
		{`SELECT "set", "begin" FROM t`, ""},
		{`SELECT 1 AS pg_tempest, 2 AS "pg_temporary"`, ""},
		{"SET LOCAL statement_timeout = 1", ""},
		{"set local search_path = x", ""},
		{"SELECT set_config('a.b', 'c', true)", ""},
		{"SELECT set_config('a.b', 'c', TRUE)", ""},
		{"SELECT set_config('a.b','c','t')", ""},
		{"SELECT set_config('a.b','c','on')", ""},
		{"SELECT set_config('a.b','c','yes')", ""},
		{"SELECT set_config('a.b','c','1')", ""},
		{"SELECT set_config('a.b','c',' True ')", ""},
		{"SELECT set_config('a.b', f('c', 'd'), true)", ""},
		{"SELECT set_config('a.b', (SELECT string_agg(x, ',') FROM t), true)", ""},
		{"SELECT set_config FROM t", ""},
		{"SELECT pg_advisory_xact_lock(1), pg_try_advisory_xact_lock_shared(2)", ""},
		{"SELECT nextval('s')", ""},
		{"UPDATE t SET x = 1", ""},
		{"UPDATE t SET x = (SELECT setting FROM pg_settings WHERE name = 'work_mem')", "UPDATE pg_settings"}, // conservative
		{"SELECT setting FROM pg_settings WHERE name = 'work_mem'", ""},
		{"INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING", ""},
		{"WITH a AS (SELECT 1) INSERT INTO t SELECT * FROM a", ""},
		{"MERGE INTO t USING s ON true WHEN MATCHED THEN DO NOTHING", ""},
		{"NOTIFY chan", ""},
		{"SELECT * FROM temp", ""},
		{"CREATE TABLE t (temp int)", ""},
		{"CREATE TABLE temporary (x int)", ""},
		{"EXPLAIN SELECT 1", ""},
		{"EXPLAIN (SELECT 1)", ""},
		{"CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END", ""},
		{"IMPORT FOREIGN SCHEMA s FROM SERVER srv INTO public", ""},
		{"SELECT 'C:\\'", ""}, // off: the server refuses the text, so nothing changes
		{`SELECT U&"\D83D\DE00" FROM t`, ""},
		{"", ""},
	} {
		if got := sqllex.SessionChange(c.sql); got != c.want {
			t.Errorf("SessionChange(%q) = %q, want %q", c.sql, got, c.want)
		}
	}
}
