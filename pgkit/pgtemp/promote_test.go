package pgtemp

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestPromoteAndTakeOverPort: a failover with pgtemp's servers. The
// standby, promoted, accepts writes; a new standby of it started on the
// port of the stopped old primary listens there, is in recovery, and
// replays what the new primary wrote.
func TestPromoteAndTakeOverPort(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	primary, err := Start(ctx, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer primary.Stop()
	standby, err := Start(ctx, Config{ReplicaOf: primary.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer standby.Stop()
	if err := primary.Promote(ctx); err == nil {
		t.Fatal("promoting a primary succeeded; want the server's refusal")
	}
	if err := standby.Promote(ctx); err != nil {
		t.Fatal(err)
	}
	if recovering(t, ctx, standby.URL()) {
		t.Fatal("the promoted standby is still in recovery")
	}
	execSQL(t, ctx, standby.URL(), "CREATE TABLE after_failover AS SELECT 42 AS answer")

	oldPort := primary.Port()
	if err := primary.Stop(); err != nil {
		t.Fatal(err)
	}
	rebuilt, err := Start(ctx, Config{ReplicaOf: standby.URL(), Port: oldPort})
	if err != nil {
		t.Fatal(err)
	}
	defer rebuilt.Stop()
	if rebuilt.Port() != oldPort || rebuilt.URL() != primary.URL() {
		t.Fatalf("rebuilt server on port %d (%s), want the old primary's %d (%s)", rebuilt.Port(), rebuilt.URL(), oldPort, primary.URL())
	}
	if !recovering(t, ctx, rebuilt.URL()) {
		t.Fatal("the rebuilt server is not a standby")
	}
	var answer int
	conn, err := pgx.Connect(ctx, rebuilt.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, "SELECT answer FROM after_failover").Scan(&answer); err != nil || answer != 42 {
		t.Fatalf("the new standby's copy of the new primary's write: %d, %v", answer, err)
	}
}

func recovering(t *testing.T, ctx context.Context, url string) bool {
	t.Helper()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var v bool
	if err := conn.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func execSQL(t *testing.T, ctx context.Context, url, sql string) {
	t.Helper()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatal(err)
	}
}
