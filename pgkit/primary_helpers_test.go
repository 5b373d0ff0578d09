package pgkit_test

// Helpers of the tests of a pool meant for the primary
// (primary_follow_test.go, primary_reconnect_test.go): servers reached by
// one multi-host connection string, a server made read-only as
// pg_auto_failover fences one, writes that say where they ran.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgtemp"
)

// followTable records where each write ran: the port of the server that
// took it.
const followTable = "CREATE TABLE IF NOT EXISTS follow_writes (token text PRIMARY KEY, port int NOT NULL DEFAULT inet_server_port())"

// startServers starts n throwaway servers, each with followTable; the
// test's cleanup stops them.
func startServers(t *testing.T, n int) []*pgtemp.Server {
	t.Helper()
	out := make([]*pgtemp.Server, n)
	for i := range out {
		s, err := pgtemp.Start(context.Background(), pgtemp.Config{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Stop() })
		adminExec(t, s.URL(), followTable)
		out[i] = s
	}
	return out
}

// multiHost is a connection string naming every host:port of addrs in
// order, with target_session_attrs=attrs: the string that follows a
// failover, as libpq's does.
func multiHost(attrs string, addrs ...string) string {
	return fmt.Sprintf("postgres://postgres@%s/postgres?sslmode=disable&target_session_attrs=%s", strings.Join(addrs, ","), attrs)
}

// hostOf is the host:port of a postgres:// URL of pgtemp's.
func hostOf(url string) string {
	rest := strings.TrimPrefix(url, "postgres://")
	rest = rest[strings.Index(rest, "@")+1:]
	return rest[:strings.Index(rest, "/")]
}

// adminExec runs sql on its own connection to url.
func adminExec(t *testing.T, url, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// setReadOnly turns default_transaction_read_only on or off for the whole
// server at url (ALTER SYSTEM and a reload: what pg_auto_failover does to
// a node it must keep from taking writes), and returns once a new session
// sees it and every backend has had the time to take the signal: existing
// sessions apply it at their next statement.
func setReadOnly(t *testing.T, url string, on bool) {
	t.Helper()
	sql := "ALTER SYSTEM RESET default_transaction_read_only"
	want := "off"
	if on {
		sql, want = "ALTER SYSTEM SET default_transaction_read_only = on", "on"
	}
	adminExec(t, url, sql)
	adminExec(t, url, "SELECT pg_reload_conf()")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	waitFor(t, 20*time.Second, func() bool {
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			return false
		}
		defer conn.Close(ctx)
		var got string
		return conn.QueryRow(ctx, "SHOW default_transaction_read_only").Scan(&got) == nil && got == want
	})
	time.Sleep(100 * time.Millisecond) // the postmaster signals the backends one after the other
}

// writeAt writes token through db, with Exec or (returning) through
// QueryRow, and returns the port of the server that took it (0 for
// Exec).
func writeAt(ctx context.Context, db pgkit.DBTX, token string, returning bool) (int, error) {
	if !returning {
		_, err := db.Exec(ctx, "INSERT INTO follow_writes (token) VALUES ($1)", token)
		return 0, err
	}
	var port int
	err := db.QueryRow(ctx, "INSERT INTO follow_writes (token) VALUES ($1) RETURNING port", token).Scan(&port)
	return port, err
}

// tokensOn counts the rows of follow_writes on url whose token starts with
// prefix.
func tokensOn(t *testing.T, url, prefix string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM follow_writes WHERE starts_with(token, $1)", prefix).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// warmPool opens n connections of db at once (each one a round trip, so
// each on the server the pool connects to now) and gives them back idle.
func warmPool(t *testing.T, ctx context.Context, db *pgkit.DB, n int) {
	t.Helper()
	var held []interface{ Release() }
	defer func() {
		for _, c := range held {
			c.Release()
		}
	}()
	for range n {
		c, err := db.Pool().Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		if err := c.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// errorsJoin is errors.Join with a cap, for a test's message.
func errorsJoin(errs []error, most int) error {
	if len(errs) > most {
		errs = append(errs[:most:most], fmt.Errorf("… and %d more", len(errs)-most))
	}
	return errors.Join(errs...)
}

// skipWithoutBouncer skips t where PgBouncer is not installed.
func skipWithoutBouncer(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(pgtemp.BouncerBin); err != nil {
		t.Skip("pgbouncer is not installed: apt-get install -y pgbouncer (make test does it when run as root)")
	}
}
