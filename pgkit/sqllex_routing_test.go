package pgkit_test

import (
	"context"
	"testing"
	"time"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgtemp"
)

// TestReplicaRoutingReadsSQLAsTheServerDoes runs a real primary and a
// streaming replica: a statement that calls nextval behind what a
// line-based scanner took for a comment ("SELECT '--', nextval('s')")
// runs on the primary and succeeds, where the replica refuses it (25006,
// read-only transaction); statements whose writing words are only in
// constants and comments still go to the replica. Before the lexer the
// first went to the replica and failed.
func TestReplicaRoutingReadsSQLAsTheServerDoes(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // a hang guard only
	defer cancel()
	primary := ownServer(t)
	standby, err := pgtemp.Start(ctx, pgtemp.Config{ReplicaOf: primary.URL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = standby.Stop() })
	// A generous MaxLag: this test is about where statements go, not lag,
	// and a busy machine must not make the replica look unhealthy.
	r, err := pgkit.OpenReplicated(ctx, primary.URL(), []string{standby.URL()}, pgkit.Config{MaxConns: 4},
		pgkit.ReplicaConfig{MaxLag: time.Minute, CheckInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Exec(ctx, "CREATE SEQUENCE routing_s"); err != nil {
		t.Fatal(err)
	}
	replica, err := pgkit.Open(ctx, standby.URL(), pgkit.Config{MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer replica.Close()
	for {
		var replicated bool
		if err := replica.QueryRow(ctx, "SELECT to_regclass('routing_s') IS NOT NULL").Scan(&replicated); err != nil {
			t.Fatal(err)
		}
		if replicated && r.ReplicaStats()[0].Healthy {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the sequence never reached a healthy replica: %+v", r.ReplicaStats())
		case <-time.After(20 * time.Millisecond):
		}
	}
	// On the replica itself nextval fails: what a misrouted call gets.
	var n int64
	if err := replica.QueryRow(ctx, "SELECT nextval('routing_s')").Scan(&n); pgerr.SQLState(err) != "25006" {
		t.Fatalf("nextval on the replica: %v, want SQLSTATE 25006", err)
	}

	// Calls of nextval, however disguised, run on the primary.
	for _, sql := range []string{
		"SELECT '--', nextval('routing_s'), pg_is_in_recovery()",
		"SELECT '/*', nextval('routing_s'), pg_is_in_recovery() -- */",
		`SELECT 'x', "nextval"('routing_s'), pg_is_in_recovery()`,
		"WITH a AS (SELECT nextval('routing_s') AS v) SELECT 'x', v, pg_is_in_recovery() FROM a",
		"SELECT $$--$$, nextval/* c */('routing_s'), pg_is_in_recovery()",
	} {
		var s string
		var inRecovery bool
		before := n
		if err := r.QueryRow(ctx, sql).Scan(&s, &n, &inRecovery); err != nil {
			t.Errorf("%q: %v; want it run on the primary", sql, err)
			continue
		}
		if inRecovery || n <= before {
			t.Errorf("%q: ran on the replica %v, nextval %d after %d", sql, inRecovery, n, before)
		}
	}

	// Writing words in constants and comments do not keep a read off the
	// replica.
	for _, sql := range []string{
		"SELECT pg_is_in_recovery() -- nextval('routing_s')",
		"SELECT pg_is_in_recovery() /* ; DELETE FROM t */ WHERE 'FOR UPDATE' <> ''",
		`SELECT pg_is_in_recovery() FROM (SELECT 1 AS "nextval") t`,
	} {
		var inRecovery bool
		if err := r.QueryRow(ctx, sql).Scan(&inRecovery); err != nil || !inRecovery {
			t.Errorf("%q: on the replica %v, %v; want the replica", sql, inRecovery, err)
		}
	}
}
