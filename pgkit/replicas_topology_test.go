package pgkit_test

import (
	"context"
	"testing"
	"time"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgtemp"
)

// TestReplicatedFollowsPromotion measures how soon a Replicated with the
// default CheckInterval (1s) follows a failover: its primary DSN names
// both hosts with target_session_attrs=read-write, and both are listed
// as replicas too, as OpenReplicated says to; each node's address is a
// forwarder, so that it can outlive its server. The primary stops (its
// address refuses connections) and the standby is promoted: the promoted
// node leaves the read set and writes reach it; then the old primary's
// address comes back as a standby of the new primary: reads go to it
// again. The figures are printed; the
// assertions' bounds (30 s) only detect a hang. Every read once the
// rebuilt standby takes reads runs on it, never on the new primary.
func TestReplicatedFollowsPromotion(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	primary, standby := primaryAndStandby(t)
	adminExec(t, primary.URL(), followTable)
	// Each node's address (a forwarder: a node's address outlives its
	// server, and no other server may answer on it meanwhile).
	first, second := startVIP(t, primary.Port()), startVIP(t, standby.Port())
	primaryDSN := multiHost("read-write", hostOf(first.URL()), hostOf(second.URL()))
	r, err := pgkit.OpenReplicated(ctx, primaryDSN, []string{first.URL(), second.URL()}, pgkit.Config{MaxConns: 4}, pgkit.ReplicaConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	readsOn := func(port int) func() bool {
		return func() bool {
			var inRecovery bool
			var at int
			err := r.QueryRow(ctx, "SELECT pg_is_in_recovery(), inet_server_port()").Scan(&inRecovery, &at)
			return err == nil && inRecovery && at == port
		}
	}
	within := func(what string, cond func() bool) time.Duration {
		t.Helper()
		start := time.Now()
		waitFor(t, 30*time.Second, cond)
		took := time.Since(start)
		t.Logf("%s after %s", what, took.Round(time.Millisecond))
		return took
	}
	waitFor(t, 30*time.Second, readsOn(standby.Port()))

	first.point(0) // down
	if err := primary.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := standby.Promote(ctx); err != nil {
		t.Fatal(err)
	}
	within("the promoted node left the read set", func() bool { return !r.ReplicaStats()[1].Healthy })
	within("a write reached the promoted node", func() bool {
		var port int
		err := r.QueryRow(ctx, "INSERT INTO follow_writes (token) VALUES ('promoted') RETURNING port").Scan(&port)
		return err == nil && port == standby.Port()
	})

	rebuilt, err := pgtemp.Start(ctx, pgtemp.Config{ReplicaOf: standby.URL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rebuilt.Stop() })
	first.point(rebuilt.Port()) // the old primary's address is a standby's now
	within("reads went to the rebuilt standby (CheckInterval 1s)", readsOn(rebuilt.Port()))
	for i := range 20 {
		if !readsOn(rebuilt.Port())() {
			t.Fatalf("read %d after the rebuilt standby took reads did not run on it", i)
		}
	}
}
