package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/internal/clitest"
	"github.com/shopdb/shopdb/internal/testshop"
	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
	"github.com/shopdb/shopdb/schema"
)

func TestMain(m *testing.M) {
	if os.Getenv(envRunMain) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(pgkittest.Run(m))
}

// testService is the service on a fresh database seeded with 50 customers.
type testService struct {
	*httptest.Server
	pool *pgkit.DB
	logs *clitest.Buffer
}

func newTestService(t *testing.T, cfg pgkit.Config, timeout time.Duration) *testService {
	t.Helper()
	m := newMetrics()
	cfg.Tracer = m.tracer()
	pool := pgkittest.NewWithConfig(t, schema.FS(), cfg)
	if _, err := seed(context.Background(), pool, 50); err != nil {
		t.Fatal(err)
	}
	logs := &clitest.Buffer{}
	srv, err := newServer(pool, m, options{RequestTimeout: timeout, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.handler())
	t.Cleanup(hs.Close)
	return &testService{Server: hs, pool: pool, logs: logs}
}

// call does one request and decodes the JSON answer into a map.
func (s *testService) call(t *testing.T, method, path, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: body %q: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode, resp.Header, out
}

// onBothPools runs test as parallel subtests on a service over a plain
// pool and over a multiplexing one (pgkit.Config.Multiplex).
func onBothPools(t *testing.T, test func(t *testing.T, s *testService, multiplex bool)) {
	for _, multiplex := range []bool{false, true} {
		t.Run(fmt.Sprintf("multiplex=%v", multiplex), func(t *testing.T) {
			t.Parallel()
			test(t, newTestService(t, pgkit.Config{Multiplex: multiplex}, 5*time.Second), multiplex)
		})
	}
}

// TestProductPage runs on a plain pool and on a multiplexing one
// (pgkit.Config.Multiplex, the -multiplex flag): the same answers.
func TestProductPage(t *testing.T) {
	onBothPools(t, func(t *testing.T, s *testService, _ bool) { testProductPage(t, s) })
}

func testProductPage(t *testing.T, s *testService) {
	code, _, page := s.call(t, "GET", "/products/1?customer=1", "")
	if code != 200 {
		t.Fatalf("status %d: %v", code, page)
	}
	product := page["product"].(map[string]any)
	if product["product_id"] != 1.0 || product["name"] == "" || len(page["reviews"].([]any)) != 10 || len(page["orders"].([]any)) != 5 || page["fetch"] != "batch" {
		t.Fatalf("page = %v", page)
	}
	// The articles' URL shape gives the same page; every fetch mode too.
	_, _, same := s.call(t, "GET", "/product/1/1", "")
	for _, mode := range []string{"pipelined", "concurrent", "sequential", "one-statement", "batch"} {
		_, _, other := s.call(t, "GET", "/products/1?customer=1&fetch="+mode, "")
		if other["fetch"] != mode {
			t.Fatalf("fetch=%s answered %v", mode, other["fetch"])
		}
		delete(other, "fetch")
		delete(same, "fetch")
		a, _ := json.Marshal(other)
		b, _ := json.Marshal(same)
		if !bytes.Equal(a, b) {
			t.Fatalf("fetch=%s differs:\n%s\n%s", mode, a, b)
		}
	}

	// Keyset pages: 10 reviews in pages of 3 (3, 3, 3, 1), none twice.
	seen := map[float64]bool{}
	path := "/products/1?reviews=3"
	for pages := 0; ; pages++ {
		code, _, page := s.call(t, "GET", path, "")
		if code != 200 || pages > 4 {
			t.Fatalf("page %d: status %d, %v", pages, code, page)
		}
		for _, r := range page["reviews"].([]any) {
			id := r.(map[string]any)["review_id"].(float64)
			if seen[id] {
				t.Fatalf("review %v on two pages", id)
			}
			seen[id] = true
		}
		next, ok := page["next_reviews"].(string)
		if !ok {
			break
		}
		path = "/products/1?reviews=3&reviews_before=" + next
	}
	if len(seen) != 10 {
		t.Fatalf("paged through %d reviews, want 10", len(seen))
	}

	// No customer, a product without reviews: lists are [] in the JSON.
	var productID int64
	if err := s.pool.QueryRow(context.Background(), "INSERT INTO products (sku, name, price_cents) VALUES ('EMPTY', 'Empty', 1) RETURNING product_id").Scan(&productID); err != nil {
		t.Fatal(err)
	}
	resp, err := s.Client().Get(fmt.Sprintf("%s/products/%d", s.URL, productID))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(raw, []byte(`"reviews":[]`)) || !bytes.Contains(raw, []byte(`"orders":[]`)) || !bytes.Contains(raw, []byte(`"next_reviews":null`)) {
		t.Fatalf("empty page body %s", raw)
	}
}

// TestStatuses runs on a plain pool and on a multiplexing one
// (pgkit.Config.Multiplex, the -multiplex flag): the same answers.
func TestStatuses(t *testing.T) {
	onBothPools(t, func(t *testing.T, s *testService, _ bool) { testStatuses(t, s) })
}

func testStatuses(t *testing.T, s *testService) {
	for _, tc := range []struct {
		method, path, body string
		status             int
		field              string
	}{
		{"GET", "/products/999999", "", 404, ""},
		{"GET", "/products/abc", "", 400, "product_id"},
		{"GET", "/products/-3", "", 400, "product_id"},
		{"GET", "/products/99999999999999999999", "", 400, "product_id"},
		{"GET", "/products/1?customer=x", "", 400, "customer_id"},
		{"GET", "/products/1?reviews=0", "", 400, "reviews"},
		{"GET", "/products/1?orders=1000", "", 400, "orders"},
		{"GET", "/products/1?reviews_before=garbage", "", 400, "reviews_before"},
		{"GET", "/products/1?fetch=parallel", "", 400, "fetch"},
		{"GET", "/orders/0", "", 400, "order_id"},
		{"GET", "/orders/123456", "", 404, ""},
		{"GET", "/nowhere", "", 404, ""},
		{"POST", "/orders", "", 400, "body"},
		{"POST", "/orders", "{", 400, "body"},
		{"POST", "/orders", `{"customer_id": 1, "items": [{"product_id": 1, "quantity": 1}]} {}`, 400, "body"},
		{"POST", "/orders", `[]`, 400, "body"},
		{"POST", "/orders", `{"customer_id": "one", "items": []}`, 400, "customer_id"},
		{"POST", "/orders", `{"customer_id": 1, "items": [], "coupon": "FREE"}`, 400, "coupon"},
		{"POST", "/orders", `{"items": [{"product_id": 1, "quantity": 1}]}`, 400, "customer_id"},
		{"POST", "/orders", `{"customer_id": 1, "items": []}`, 400, "items"},
		{"POST", "/orders", `{"customer_id": 1, "items": [{"product_id": 1, "quantity": 0}]}`, 400, "items[0].quantity"},
		{"POST", "/orders", `{"customer_id": 1, "items": [{"product_id": 1, "quantity": 1}, {"product_id": 0, "quantity": 1}]}`, 400, "items[1].product_id"},
		{"POST", "/orders", `{"customer_id": 1, "items": [{"product_id": 1, "quantity": 3000000000}]}`, 400, "items[0].quantity"},
		{"POST", "/orders", `{"customer_id": 1, "items": [{"product_id": 1, "quantity": 1.5}]}`, 400, "items.quantity"},
		{"POST", "/orders", fmt.Sprintf(`{"customer_id": 1, "items": [{"product_id": 1, "quantity": %d}, {"product_id": 1, "quantity": %d}]}`, math.MaxInt32, math.MaxInt32), 400, "items"},
		{"POST", "/orders", `{"customer_id": 999999, "items": [{"product_id": 1, "quantity": 1}]}`, 404, "customer_id"},
		{"POST", "/orders", `{"customer_id": 1, "items": [{"product_id": 999999, "quantity": 1}]}`, 404, ""},
		{"POST", "/orders", `{"customer_id": 1, "items": [{"product_id": 1, "quantity": 100000}]}`, 409, ""},
	} {
		code, _, body := s.call(t, tc.method, tc.path, tc.body)
		if code != tc.status || (tc.field != "" && body["field"] != tc.field) || body["error"] == nil {
			t.Errorf("%s %s %s: %d %v, want %d naming %q", tc.method, tc.path, tc.body, code, body, tc.status, tc.field)
		}
	}
	// 409 says how many are available; nothing was half-written.
	_, _, conflict := s.call(t, "POST", "/orders", `{"customer_id": 1, "items": [{"product_id": 2, "quantity": 1}, {"product_id": 1, "quantity": 100000}]}`)
	q := db.New(s.pool)
	p1 := testshop.Must(q.ProductGetByID(context.Background(), 1))(t)
	if conflict["available"] != float64(p1.Stock) || conflict["product_id"] != 1.0 {
		t.Fatalf("409 body %v, want product 1 with %d available", conflict, p1.Stock)
	}
	var orders int
	if err := s.pool.QueryRow(context.Background(), "SELECT count(*) FROM orders").Scan(&orders); err != nil || orders != 250 {
		t.Fatalf("%d orders after refused ones, want the 250 seeded (%v)", orders, err)
	}
}

func TestPlaceOrder(t *testing.T) {
	t.Parallel()
	s := newTestService(t, pgkit.Config{}, 5*time.Second)
	q := db.New(s.pool)
	before := testshop.Must(q.ProductGetByID(context.Background(), 3))(t)
	code, hdr, order := s.call(t, "POST", "/orders", `{"customer_id": 7, "items": [{"product_id": 3, "quantity": 2}, {"product_id": 3, "quantity": 1}]}`)
	if code != 201 || order["status"] != "pending" || order["total_cents"] != float64(3*before.PriceCents) || len(order["items"].([]any)) != 1 {
		t.Fatalf("POST /orders: %d %v", code, order)
	}
	loc := hdr.Get("Location")
	if loc != fmt.Sprintf("/orders/%v", order["order_id"]) {
		t.Fatalf("Location %q for order %v", loc, order["order_id"])
	}
	code, _, got := s.call(t, "GET", loc, "")
	if code != 200 || got["order_id"] != order["order_id"] || got["items"].([]any)[0].(map[string]any)["quantity"] != 3.0 {
		t.Fatalf("GET %s: %d %v", loc, code, got)
	}
	if after := testshop.Must(q.ProductGetByID(context.Background(), 3))(t); after.Stock != before.Stock-3 {
		t.Fatalf("stock %d after ordering 3 of %d", after.Stock, before.Stock)
	}
}

// TestHealthMetricsAndLogs runs on a plain pool and on a multiplexing one:
// the same metrics and log lines (queries of the multiplexed page traced by
// the lanes), plus the multiplexer's own metrics.
func TestHealthMetricsAndLogs(t *testing.T) {
	onBothPools(t, testHealthMetricsAndLogs)
}

func testHealthMetricsAndLogs(t *testing.T, s *testService, multiplex bool) {
	if code, _, body := s.call(t, "GET", "/healthz", ""); code != 200 || body["status"] != "ok" {
		t.Fatalf("healthz %d %v", code, body)
	}
	s.call(t, "GET", "/products/1?customer=2", "")
	s.call(t, "GET", "/products/1?customer=2&fetch=sequential", "") // plain calls: multiplexed when the pool multiplexes
	s.call(t, "GET", "/products/999999", "")
	s.call(t, "POST", "/orders", `{"customer_id": 999999, "items": [{"product_id": 1, "quantity": 1}]}`)
	resp, err := s.Client().Get(s.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	wants := []string{
		`shopapi_http_requests_total{route="GET /products/{id}",status="200"} 2`,
		`shopapi_http_requests_total{route="GET /products/{id}",status="404"} 1`,
		`shopapi_http_request_duration_seconds_bucket{route="GET /products/{id}",status="200",le="+Inf"} 2`,
		`shopapi_db_queries_total{outcome="ok",query="ReviewListByProduct"} 3`,
		`shopapi_db_queries_total{outcome="ok",query="ProductGetByID"} 3`,
		`shopapi_db_queries_total{outcome="error",query="OrderCreate"} 1`,
		`shopapi_http_requests_total{route="POST /orders",status="404"} 1`,
		`shopapi_db_pool_max_conns `,
		`shopapi_db_pool_exhausted_total 0`,
		`shopapi_db_query_duration_seconds_bucket{query="ProductGetByID",le="+Inf"} 3`,
		`shopapi_db_query_duration_seconds_count{query="OrderCreate"} 1`,
		`process_cpu_seconds_total `,
		`process_open_fds `,
		`process_resident_memory_bytes `,
		`go_goroutines `,
		`go_gc_duration_seconds`,
	}
	if multiplex {
		wants = append(wants, `shopapi_db_multiplex_statements_total 3`, `shopapi_db_multiplex_exhausted_total 0`, `shopapi_db_multiplex_lanes `)
	}
	for _, want := range wants {
		if !bytes.Contains(raw, []byte(want)) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// One log line per request, with the names and times of its queries.
	var sawPage bool
	for _, line := range strings.Split(strings.TrimSpace(s.logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["route"] == "GET /products/{id}" && rec["status"] == 200.0 {
			sawPage = true
			qt, _ := rec["query_times"].(string)
			if rec["queries"] != 3.0 || !strings.Contains(qt, "ProductGetByID=") || !strings.Contains(qt, "OrderListByUser=") {
				t.Errorf("page request log %v", rec)
			}
		}
	}
	if !sawPage {
		t.Fatalf("no log line for the page request in %s", s.logs)
	}
}

// TestUnavailableIs503: a full pool and an unreachable database answer 503
// with Retry-After, quickly, and never 500.
func TestUnavailableIs503(t *testing.T) {
	t.Parallel()
	s := newTestService(t, pgkit.Config{MaxConns: 1, AcquireTimeout: 100 * time.Millisecond}, 5*time.Second)
	held, err := s.pool.Pool().Acquire(context.Background()) // the only connection
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	code, hdr, body := s.call(t, "GET", "/products/1", "")
	held.Release()
	if code != 503 || hdr.Get("Retry-After") != "1" || time.Since(start) > 3*time.Second {
		t.Fatalf("with the pool full: %d %v Retry-After %q after %s", code, body, hdr.Get("Retry-After"), time.Since(start))
	}
	if code, _, _ := s.call(t, "GET", "/products/1", ""); code != 200 {
		t.Fatalf("after the connection came back: %d", code)
	}

	// A database nobody listens on: a loopback port we opened and closed.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	pcfg, err := pgxpool.ParseConfig("postgres://nobody@" + addr + "/shop?connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	dead, err := pgxpool.NewWithConfig(context.Background(), pcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	srv, err := newServer(pgkit.NewDB(dead, time.Second), newMetrics(), options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.handler())
	defer hs.Close()
	for _, path := range []string{"/products/1", "/healthz"} {
		resp, err := hs.Client().Get(hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		jerr := json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || jerr != nil || body["error"] == nil {
			t.Errorf("%s with the database down: %d, Retry-After %q, %v %v; want 503 and a JSON error", path, resp.StatusCode, resp.Header.Get("Retry-After"), body, jerr)
		}
		if path == "/healthz" && body["status"] != "unavailable" {
			t.Errorf("/healthz with the database down: %v, want status unavailable", body)
		}
	}
}

// TestLoadOverPool: ten times more concurrent clients than connections for
// a bounded time: only 200s and clean 503s, no 500, no hang, no connection
// left acquired.
func TestLoadOverPool(t *testing.T) {
	t.Parallel()
	const conns, clients = 4, 40
	s := newTestService(t, pgkit.Config{MaxConns: conns, AcquireTimeout: 10 * time.Millisecond}, 2*time.Second)
	if _, err := s.pool.Exec(context.Background(), "UPDATE products SET stock = 1000000"); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(2 * time.Second)
	var mu sync.Mutex
	counts := map[int]int{}
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				var resp *http.Response
				var err error
				if i%5 == 4 {
					resp, err = client.Post(s.URL+"/orders", "application/json",
						strings.NewReader(fmt.Sprintf(`{"customer_id": %d, "items": [{"product_id": %d, "quantity": 1}]}`, 1+c, 1+i%5)))
				} else {
					resp, err = client.Get(fmt.Sprintf("%s/products/%d?customer=%d", s.URL, 1+i%5, 1+c))
				}
				if err != nil {
					t.Errorf("client %d: %v (a hang or a dropped connection)", c, err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				counts[resp.StatusCode]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	t.Logf("%d clients on %d connections for 2s: %v; pool %s", clients, conns, counts, s.pool.Stats())
	for code := range counts {
		if code != 200 && code != 201 && code != 503 {
			t.Errorf("status %d under load, want only 200/201 and 503", code)
		}
	}
	if counts[200] == 0 {
		t.Error("no request succeeded under load")
	}
	waitIdle := time.Now().Add(3 * time.Second)
	for s.pool.Stats().InUse > 0 && time.Now().Before(waitIdle) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := s.pool.Stats().InUse; n > 0 {
		t.Errorf("%d connections still acquired after the load", n)
	}
}

// TestRunServesAndShutsDown runs the command: throwaway-free (DATABASE_URL
// of a test database), seeded, serving, and stopping cleanly on cancel.
func TestRunServesAndShutsDown(t *testing.T) {
	t.Parallel()
	c := startCommand(t, pgkittest.URL(t, schema.FS()), "-seed", "20", "-pool", "2")
	c.waitHealthy(t)
	if code, _, body := c.get(t, "/products/1?customer=1"); code != 200 {
		t.Fatalf("status %d %s", code, body)
	}
	if err := c.stop(); err != nil {
		t.Fatalf("run: %v\n%s", err, c.out)
	}
	if !strings.Contains(c.out.String(), `"msg":"seeded","users":20,"products":2,"reviews":20,"orders":100`) || !strings.Contains(c.out.String(), `"msg":"shut down"`) {
		t.Fatalf("output:\n%s", c.out)
	}
	if _, err := http.Get("http://" + c.addr + "/healthz"); err == nil {
		t.Fatal("still serving after shutdown")
	}
}
