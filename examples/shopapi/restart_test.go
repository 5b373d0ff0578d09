package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/pgkit"
)

// TestTerminatedBackendIs503: a request whose connection the server ends
// while its query runs (pg_terminate_backend, SQLSTATE 57P01, what a
// restart or failover does to every session) answers 503 with
// Retry-After, not 500; the next request is served. The request's query
// is made to wait for a lock the test holds, so that it is in flight when
// its backend is terminated. On a multiplexing pool the lock may instead
// stop a lane preparing the statement, which then never ran and is sent
// again by the multiplexer: there 200 is right too, 500 never. An order
// whose transaction is known not to have committed may be run again by
// pgkit.WithTx: 201 with exactly one order stored is right too.
func TestTerminatedBackendIs503(t *testing.T) {
	for _, tc := range []struct {
		multiplex    bool
		method, path string
		body         string
	}{
		{false, "GET", "/products/1?customer=1", ""},
		{false, "GET", "/products/1?customer=1&fetch=concurrent", ""},
		{false, "GET", "/products/1?customer=1&fetch=sequential", ""},
		{true, "GET", "/products/1?customer=1&fetch=sequential", ""},
		{false, "POST", "/orders", `{"customer_id": 1, "items": [{"product_id": 1, "quantity": 1}]}`},
	} {
		t.Run(fmt.Sprintf("multiplex=%v %s %s", tc.multiplex, tc.method, tc.path), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := newTestService(t, pgkit.Config{Multiplex: tc.multiplex}, 30*time.Second)
			admin, err := pgx.Connect(ctx, s.pool.Pool().Config().ConnConfig.ConnString())
			if err != nil {
				t.Fatal(err)
			}
			defer admin.Close(ctx)
			// Sessions are watched from a connection of their own: inside
			// the locking transaction pg_stat_activity would stay as its
			// first read saw it.
			watch, err := pgx.Connect(ctx, s.pool.Pool().Config().ConnConfig.ConnString())
			if err != nil {
				t.Fatal(err)
			}
			defer watch.Close(ctx)
			lock, err := admin.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer lock.Rollback(ctx)
			if _, err := lock.Exec(ctx, "LOCK TABLE products IN ACCESS EXCLUSIVE MODE"); err != nil {
				t.Fatal(err)
			}
			type answer struct {
				code  int
				retry string
				body  []byte
				err   error
			}
			answered := make(chan answer, 1)
			go func() {
				req, err := http.NewRequest(tc.method, s.URL+tc.path, strings.NewReader(tc.body))
				if err != nil {
					answered <- answer{err: err}
					return
				}
				resp, err := s.Client().Do(req)
				if err != nil {
					answered <- answer{err: err}
					return
				}
				defer resp.Body.Close()
				body, err := io.ReadAll(resp.Body)
				answered <- answer{resp.StatusCode, resp.Header.Get("Retry-After"), body, err}
			}()
			// The request's backends waiting for the lock (Gather: several).
			var terminated int
			deadline := time.Now().Add(20 * time.Second)
			for terminated == 0 {
				select {
				case a := <-answered:
					t.Fatalf("answered before its query waited for the lock: %d %s %v", a.code, a.body, a.err)
				case <-time.After(10 * time.Millisecond):
				}
				if time.Now().After(deadline) {
					rows, _ := watch.Query(ctx, `SELECT pid, state, coalesce(wait_event_type, ''), coalesce(wait_event, ''), left(query, 80) FROM pg_stat_activity WHERE datname = current_database()`)
					report, _ := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
						var pid int
						var state, wtype, wevent, query string
						err := r.Scan(&pid, &state, &wtype, &wevent, &query)
						return fmt.Sprintf("%d %s %s %s %q", pid, state, wtype, wevent, query), err
					})
					t.Fatalf("the request's query never waited for the lock; sessions:\n%s", strings.Join(report, "\n"))
				}
				err := watch.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
					WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`).Scan(&terminated)
				if err != nil {
					t.Fatal(err)
				}
			}
			if err := lock.Rollback(ctx); err != nil {
				t.Fatal(err)
			}
			var a answer
			select {
			case a = <-answered:
			case <-time.After(30 * time.Second):
				t.Fatal("no answer 30s after its backend was terminated")
			}
			if a.err != nil {
				t.Fatal(a.err)
			}
			var orders int
			if err := watch.QueryRow(ctx, "SELECT count(*) FROM orders").Scan(&orders); err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.multiplex && a.code == 200:
				t.Logf("multiplexed: the statement had not run and was sent again")
			case tc.method == "POST" && a.code == 201 && orders == 251:
				t.Logf("the transaction had not committed and was run again on a new connection")
			case tc.method == "POST" && orders != 250:
				t.Errorf("terminated backend: %d %s with %d orders stored; want the 250 seeded", a.code, a.body, orders)
			case a.code != 503 || a.retry == "":
				t.Errorf("terminated backend: %d Retry-After %q %s; want 503 with Retry-After", a.code, a.retry, a.body)
			case !strings.Contains(s.logs.String(), "57P01"):
				t.Errorf("the log does not say what happened (57P01):\n%s", s.logs)
			}
			if code, _, body := s.call(t, "GET", "/products/1?customer=1", ""); code != 200 {
				t.Fatalf("after the termination: %d %v", code, body)
			}
		})
	}
}
