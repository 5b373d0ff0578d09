package main

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/internal/clitest"
	"github.com/shopdb/shopdb/migrate"
	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgtemp"
)

// serveOn is the service over pool with a request timeout, without
// seeding: for a pool the test opened itself (a standby's, a read-only
// database's, one through a proxy).
func serveOn(t *testing.T, pool *pgkit.DB, timeout time.Duration) *testService {
	t.Helper()
	logs := &clitest.Buffer{}
	srv, err := newServer(pool, newMetrics(), options{RequestTimeout: timeout, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.handler())
	t.Cleanup(hs.Close)
	return &testService{Server: hs, pool: pool, logs: logs}
}

// openPool opens a pool on dsn, closed when the test ends.
func openPool(t *testing.T, dsn string, cfg pgkit.Config) *pgkit.DB {
	t.Helper()
	pool, err := pgkit.Open(context.Background(), dsn, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// healthNode is /healthz's "primary": the server the writes go to.
func healthNode(t *testing.T, body map[string]any) map[string]any {
	t.Helper()
	node, ok := body["primary"].(map[string]any)
	if !ok {
		t.Fatalf("/healthz body %v has no primary", body)
	}
	return node
}

// TestHealthzSaysWhereItWrites: /healthz names the server the pool's
// writes go to (address and port as the server sees them, not in
// recovery), keeps the pool's stats, on a plain and a multiplexing pool.
func TestHealthzSaysWhereItWrites(t *testing.T) {
	onBothPools(t, func(t *testing.T, s *testService, _ bool) {
		code, hdr, body := s.call(t, "GET", "/healthz", "")
		if code != 200 || body["status"] != "ok" || body["pool"] == "" || hdr.Get("Retry-After") != "" {
			t.Fatalf("healthz %d %v", code, body)
		}
		node := healthNode(t, body)
		port := float64(s.pool.Pool().Config().ConnConfig.Port)
		if node["addr"] != "127.0.0.1" || node["port"] != port || node["in_recovery"] != false || node["read_only"] != false {
			t.Fatalf("healthz primary %v, want 127.0.0.1:%v, not in recovery, not read-only", node, port)
		}
	})
}

// TestReadOnlyServer: a database that refuses writes
// (default_transaction_read_only, as an operator sets it, or what a write
// meets on a standby): POST /orders answers 503 with Retry-After and a
// JSON error, never 500, stores nothing, and the body does not claim an
// unknown outcome; reads are served; /healthz says read_only and is 503.
func TestReadOnlyServer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	seeded := newTestService(t, pgkit.Config{}, 5*time.Second)
	dsn := seeded.pool.Pool().Config().ConnString()
	var dbName string
	if err := seeded.pool.QueryRow(ctx, "SELECT current_database()").Scan(&dbName); err != nil {
		t.Fatal(err)
	}
	if _, err := seeded.pool.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{dbName}.Sanitize()+" SET default_transaction_read_only = on"); err != nil {
		t.Fatal(err)
	}
	s := serveOn(t, openPool(t, dsn, pgkit.Config{}), 5*time.Second) // new connections: read-only
	code, hdr, body := s.call(t, "POST", "/orders", `{"customer_id": 1, "items": [{"product_id": 1, "quantity": 1}]}`)
	if code != 503 || hdr.Get("Retry-After") != "1" || body["error"] == nil || body["outcome"] != nil {
		t.Fatalf("order on a read-only database: %d Retry-After %q %v; want 503, Retry-After 1, no outcome claimed", code, hdr.Get("Retry-After"), body)
	}
	if !strings.Contains(s.logs.String(), "25006") {
		t.Errorf("the log does not say what happened (25006):\n%s", s.logs)
	}
	var orders int
	if err := seeded.pool.QueryRow(ctx, "SELECT count(*) FROM orders").Scan(&orders); err != nil || orders != 250 {
		t.Fatalf("%d orders after the refused one, want the 250 seeded (%v)", orders, err)
	}
	if code, _, body := s.call(t, "GET", "/products/1?customer=1", ""); code != 200 {
		t.Fatalf("read on a read-only database: %d %v", code, body)
	}
	code, hdr, body = s.call(t, "GET", "/healthz", "")
	if code != 503 || hdr.Get("Retry-After") != "1" || body["status"] != "unavailable" || body["error"] == nil {
		t.Fatalf("healthz on a read-only database: %d Retry-After %q %v", code, hdr.Get("Retry-After"), body)
	}
	if node := healthNode(t, body); node["read_only"] != true || node["in_recovery"] != false {
		t.Fatalf("healthz primary %v, want read-only, not in recovery", node)
	}
}

// TestStandbyThenPromoted: the service whose pool reaches a streaming
// standby (the old primary's address after a failover, or a standby
// before its promotion): /healthz is 503 and says in_recovery, reads are
// served, an order is 503 with Retry-After and nothing stored; once the
// standby is promoted, /healthz is 200 on the same address and the order
// is placed.
func TestStandbyThenPromoted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	primary, err := pgtemp.Start(ctx, pgtemp.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = primary.Stop() })
	if err := migrate.Up(ctx, primary.URL()); err != nil {
		t.Fatal(err)
	}
	if _, err := seed(ctx, openPool(t, primary.URL(), pgkit.Config{MaxConns: 2}), 20); err != nil {
		t.Fatal(err)
	}
	standby, err := pgtemp.Start(ctx, pgtemp.Config{ReplicaOf: primary.URL()}) // a copy of the seeded data
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = standby.Stop() })
	pool := openPool(t, standby.URL(), pgkit.Config{})
	s := serveOn(t, pool, 5*time.Second)

	code, hdr, body := s.call(t, "GET", "/healthz", "")
	if code != 503 || hdr.Get("Retry-After") != "1" || body["status"] != "unavailable" {
		t.Fatalf("healthz on a standby: %d Retry-After %q %v", code, hdr.Get("Retry-After"), body)
	}
	if node := healthNode(t, body); node["in_recovery"] != true || node["addr"] != "127.0.0.1" || node["port"] != float64(standby.Port()) {
		t.Fatalf("healthz primary %v, want 127.0.0.1:%d in recovery", node, standby.Port())
	}
	if code, _, body := s.call(t, "GET", "/products/1?customer=1", ""); code != 200 {
		t.Fatalf("read on a standby: %d %v", code, body)
	}
	order := `{"customer_id": 1, "items": [{"product_id": 1, "quantity": 1}]}`
	code, hdr, body = s.call(t, "POST", "/orders", order)
	if code != 503 || hdr.Get("Retry-After") != "1" || body["error"] == nil || body["outcome"] != nil {
		t.Fatalf("order on a standby: %d Retry-After %q %v; want 503, Retry-After 1, no outcome claimed", code, hdr.Get("Retry-After"), body)
	}

	if err := primary.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := standby.Promote(ctx); err != nil {
		t.Fatal(err)
	}
	// Promote returns once the server takes writes; the bound is for a
	// hang only.
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, _, body = s.call(t, "GET", "/healthz", "")
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthz 30s after the promotion: %d %v", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if node := healthNode(t, body); node["in_recovery"] != false || node["port"] != float64(standby.Port()) {
		t.Fatalf("healthz primary after the promotion %v", node)
	}
	if code, _, body := s.call(t, "POST", "/orders", order); code != 201 {
		t.Fatalf("order after the promotion: %d %v", code, body)
	}
	var orders int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM orders").Scan(&orders); err != nil || orders != 100+1 {
		t.Fatalf("%d orders after the promotion, want the 100 seeded and 1 (%v)", orders, err)
	}
}
