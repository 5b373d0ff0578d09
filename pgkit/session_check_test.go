package pgkit_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"time"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// sessionFingerprint is what a connection's session carries that a
// statement could leave behind: a custom setting, the search path, the
// statement timeout, session advisory locks, temporary relations, LISTEN
// channels, SQL-level prepared statements, open cursors, and the tables
// SELECT … INTO would create.
const sessionFingerprint = `SELECT coalesce(current_setting('pgkit_test.x', true), ''),
	current_setting('search_path'), current_setting('statement_timeout'),
	(SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()),
	(SELECT count(*) FROM pg_class WHERE relnamespace = pg_my_temp_schema()),
	(SELECT count(*) FROM pg_listening_channels()),
	(SELECT count(*) FROM pg_prepared_statements WHERE from_sql),
	(SELECT count(*) FROM pg_cursors WHERE name <> ''),
	(SELECT count(*) FROM pg_class WHERE relname LIKE 'leak%')`

// session is a sessionFingerprint.
type session struct {
	setting, searchPath, timeout                              string
	locks, temporary, channels, prepared, cursors, leakTables int64
}

// TestMultiplexSessionCheck: on a multiplexing DB, every statement that
// would change the shared session fails with ErrSessionState, and every
// connection of the pool is found as it was afterwards; look-alikes that
// change nothing succeed and change nothing.
func TestMultiplexSessionCheck(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a hang guard only
	defer cancel()
	// Two pooled connections, one lane: every multiplexed statement runs
	// on one of them, and both are looked at after each.
	d, err := pgkit.Open(ctx, pgkittest.URL(t, kitdb.Migrations()), pgkit.Config{MaxConns: 2, MultiplexConns: 1, Multiplex: true, AcquireTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if !d.Multiplexing() {
		t.Fatal("Config.Multiplex not honoured")
	}
	fingerprint := func(t *testing.T, q pgkit.DBTX) session {
		t.Helper()
		var s session
		if err := q.QueryRow(ctx, sessionFingerprint).Scan(&s.setting, &s.searchPath, &s.timeout,
			&s.locks, &s.temporary, &s.channels, &s.prepared, &s.cursors, &s.leakTables); err != nil {
			t.Fatal(err)
		}
		return s
	}
	// every returns the fingerprint of each pooled connection, once the
	// lane has given its connection back.
	every := func(t *testing.T) []session {
		t.Helper()
		for d.Pool().Stat().AcquiredConns() > 0 && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
		conns := d.Pool().AcquireAllIdle(ctx)
		var out []session
		for _, c := range conns {
			out = append(out, fingerprint(t, c))
			c.Release()
		}
		return out
	}
	// Open both connections.
	held := make([]pgx.Tx, 2)
	for i := range held {
		if held[i], err = d.Begin(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, tx := range held {
		_ = tx.Rollback(ctx)
	}
	// The probe sees changes made on the connection: inside a transaction,
	// which has the connection to itself, and gone after it.
	before := fingerprint(t, d)
	var inside session
	if err := pgkit.WithTx(ctx, d, kitdb.New, func(q *kitdb.Queries) error {
		for _, sql := range []string{"SET LOCAL pgkit_test.x = 'seen'", "CREATE TEMP TABLE seen (x int) ON COMMIT DROP", "SELECT pg_advisory_xact_lock(41)"} {
			if _, err := q.DB().Exec(ctx, sql); err != nil {
				return err
			}
		}
		inside = fingerprint(t, q.DB())
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if inside.setting != "seen" || inside.temporary != before.temporary+1 || inside.locks != before.locks+1 {
		t.Fatalf("the probe does not see a transaction's changes: %+v, before %+v", inside, before)
	}
	if after := fingerprint(t, d); after != before {
		t.Fatalf("a transaction's changes outlived it: %+v, was %+v", after, before)
	}

	for _, c := range []struct {
		sql      string
		args     []any
		harmless bool // a look-alike: it must run
	}{
		{"SET pgkit_test.x = 'leaked1'", nil, false},
		{"-- name: X :exec\nset search_path = nowhere", nil, false},
		{"SET statement_timeout = 1234", nil, false},
		{"UPDATE pg_settings SET setting = '4321' WHERE name = 'statement_timeout'", nil, false},
		{"/* c */ RESET search_path", nil, false},
		{"BEGIN", nil, false},
		{"PREPARE leak_p AS SELECT 1", nil, false},
		{"DECLARE leak_c CURSOR WITH HOLD FOR SELECT 1", nil, false},
		{"LISTEN leak_chan", nil, false},
		{"SELECT pg_advisory_lock(42)", nil, false},
		{"SELECT pg_try_advisory_lock_shared(43)", nil, false},
		{"SELECT set_config('pgkit_test.x', 'leaked2', false)", nil, false},
		{"SELECT set_config('pgkit_test.x', $1, $2)", []any{"leaked-param", false}, false},
		{"SELECT set_config('pgkit_test.x', 'leaked3', 'f')", nil, false},
		{"SELECT set_config('pgkit_test.x', 'leaked4', 'false')", nil, false},
		{"SELECT set_config('pgkit_test.x', 'leaked5', 'off')", nil, false},
		{"SELECT set_config('pgkit_test.x', 'leaked6', '0')", nil, false},
		{"CREATE TEMP TABLE leak_t1 (x int)", nil, false},
		{"/* a */ -- b\n CREATE /* c */ TEMPORARY TABLE leak_t2 (x int)", nil, false},
		{"CREATE OR REPLACE TEMP VIEW leak_v AS SELECT 1", nil, false},
		{"SELECT 1 AS a INTO TEMP leak_t3", nil, false},
		{"SELECT 1 AS a INTO leak_t4", nil, false},
		{"CREATE TABLE pg_temp.leak_t5 (x int)", nil, false},
		{"EXPLAIN ANALYZE CREATE TEMP TABLE leak_t6 AS SELECT 1", nil, false},
		{"DO $$ BEGIN SET pgkit_test.x = 'leaked7'; END $$", nil, false},
		{"DO $$ BEGIN PERFORM pg_advisory_lock(44); END $$", nil, false},
		{"COPY (SELECT 1) TO STDOUT", nil, false},
		{"COPY leak_copy FROM STDIN", nil, false},
		// Look-alikes change nothing and must run.
		{"SELECT 'SET x'", nil, true},
		{"SELECT 1 -- CREATE TEMP TABLE t (x int)", nil, true},
		{"SELECT 'INTO TEMP t', $$ DO $$, 'pg_temp.t'", nil, true},
		{"SELECT set_config('pgkit_test.x', 'local', true)", nil, true},
		{"SELECT set_config('pgkit_test.x', $1, true)", []any{"local"}, true},
		{"SELECT set_config('pgkit_test.x', 'local', 'on')", nil, true},
		{"SET LOCAL statement_timeout = 1", nil, true},
		{"SELECT pg_advisory_xact_lock(45)", nil, true},
		{`SELECT 1 AS "set", 2 AS "pg_tempest"`, nil, true},
	} {
		t.Run(c.sql, func(t *testing.T) {
			_, err := d.Exec(ctx, c.sql, c.args...)
			if c.harmless && err != nil {
				t.Errorf("%v, want it run", err)
			}
			if !c.harmless && !errors.Is(err, pgkit.ErrSessionState) {
				t.Errorf("%v, want ErrSessionState", err)
			}
			conns := every(t)
			if len(conns) != 2 {
				t.Fatalf("%d idle connections, want 2", len(conns))
			}
			for _, after := range conns {
				if after != before {
					t.Errorf("a session changed: %+v, was %+v", after, before)
				}
			}
		})
	}
}
