package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shopdb/shopdb/pgkit"
)

// logLines decodes the service's JSON log, one record per line.
func (s *testService) logLines(t *testing.T) []map[string]any {
	t.Helper()
	var recs []map[string]any
	if strings.TrimSpace(s.logs.String()) == "" {
		return nil
	}
	for _, line := range strings.Split(strings.TrimSpace(s.logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		recs = append(recs, rec)
	}
	return recs
}

// waitLogLines waits for the log to have n lines (a request's line may be
// written just after its answer reached the client) and returns them.
func (s *testService) waitLogLines(t *testing.T, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		recs := s.logLines(t)
		if len(recs) == n {
			return recs
		}
		if len(recs) > n || time.Now().After(deadline) {
			t.Fatalf("%d log lines, want %d:\n%s", len(recs), n, s.logs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// do sends a request with headers and returns the response, body read.
func (s *testService) do(t *testing.T, method, path, body string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, raw
}

// TestWrongMethodIs405: a path that exists with another method answers 405
// with Allow and a JSON error; a path that does not exist, 404.
func TestWrongMethodIs405(t *testing.T) {
	t.Parallel()
	s := newTestService(t, pgkit.Config{}, 5*time.Second)
	for _, tc := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"DELETE", "/orders/1", 405, "GET, HEAD"},
		{"POST", "/products/1", 405, "GET, HEAD"},
		{"GET", "/orders", 405, "POST"},
		{"PUT", "/metrics", 405, "GET, HEAD"},
		{"POST", "/", 405, "GET, HEAD"},
		{"GET", "/nowhere", 404, ""},
		{"DELETE", "/nowhere", 404, ""},
	} {
		resp, raw := s.do(t, tc.method, tc.path, "", nil)
		var body map[string]any
		_ = json.Unmarshal(raw, &body)
		if resp.StatusCode != tc.status || resp.Header.Get("Allow") != tc.allow || body["error"] == nil {
			t.Errorf("%s %s: %d Allow %q %s; want %d Allow %q and a JSON error", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Allow"), raw, tc.status, tc.allow)
		}
	}
	if resp, _ := s.do(t, "HEAD", "/healthz", "", nil); resp.StatusCode != 200 {
		t.Errorf("HEAD /healthz: %d", resp.StatusCode)
	}
	for _, rec := range s.logLines(t) {
		if rec["status"] == 405.0 && rec["route"] != "unmatched" {
			t.Errorf("405 logged with route %v", rec["route"])
		}
	}
}

var generatedID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// TestRequestLogLine: one JSON line per request with method, route (the
// pattern, not the path), status, duration in ms and the request id,
// which is the client's X-Request-Id when that is a sane token of at most
// 64 characters, and a new one otherwise; either way echoed.
func TestRequestLogLine(t *testing.T) {
	t.Parallel()
	s := newTestService(t, pgkit.Config{}, 5*time.Second)
	long := strings.Repeat("a", 65)
	for _, tc := range []struct {
		sent string // X-Request-Id sent; "" for none
		keep bool   // whether it is the request id
	}{
		{"", false},
		{"abc-123", true},
		{"0f8c2b1e-3a4d-4c5e-9f6a-7b8c9d0e1f2a", true},
		{"trace.span:42_x", true},
		{strings.Repeat("b", 64), true},
		{long, false},
		{"has space", false},
		{`quote"d`, false},
		{"tab\there", false},
		{"semi;colon", false},
		{"<script>", false},
	} {
		before := len(s.logLines(t))
		hdr := map[string]string{}
		if tc.sent != "" {
			hdr["X-Request-Id"] = tc.sent
		}
		resp, raw := s.do(t, "GET", "/products/999999", "", hdr)
		id := resp.Header.Get("X-Request-Id")
		switch {
		case resp.StatusCode != 404:
			t.Fatalf("status %d %s", resp.StatusCode, raw)
		case tc.keep && id != tc.sent:
			t.Errorf("X-Request-Id %q answered as %q, want it kept", tc.sent, id)
		case !tc.keep && !generatedID.MatchString(id):
			t.Errorf("X-Request-Id %q answered as %q, want a generated one", tc.sent, id)
		}
		recs := s.waitLogLines(t, before+1)
		rec := recs[len(recs)-1]
		if rec["msg"] != "request" || rec["method"] != "GET" || rec["route"] != "GET /products/{id}" || rec["status"] != 404.0 || rec["request_id"] != id {
			t.Errorf("log line %v for request id %q", rec, id)
		}
		if d, ok := rec["duration_ms"].(float64); !ok || d <= 0 || d > 60_000 {
			t.Errorf("duration_ms %v (%T), want milliseconds", rec["duration_ms"], rec["duration_ms"])
		}
		if _, ok := rec["duration"]; ok {
			t.Errorf("log line still has duration %v", rec["duration"])
		}
	}
	if strings.Contains(s.logs.String(), "999999") || strings.Contains(s.logs.String(), long) || strings.Contains(s.logs.String(), "<script>") {
		t.Errorf("the log carries the raw path or a refused request id:\n%s", s.logs)
	}
	// Two requests without an id get different ones.
	a, _ := s.do(t, "GET", "/healthz", "", nil)
	b, _ := s.do(t, "GET", "/healthz", "", nil)
	if a.Header.Get("X-Request-Id") == b.Header.Get("X-Request-Id") {
		t.Errorf("two requests got the same id %q", a.Header.Get("X-Request-Id"))
	}
}

// TestUnknownFieldNotEchoed: an unknown field's name is in the answer and
// the log only when it is a plain [a-z_]{1,32} name; any other is reported
// as an unknown field of the body, without its name.
func TestUnknownFieldNotEchoed(t *testing.T) {
	t.Parallel()
	s := newTestService(t, pgkit.Config{}, 5*time.Second)
	for _, tc := range []struct {
		name  string // as written in the JSON
		field string // the field of the answer
		leak  string // text that must appear in neither answer nor log; "" for none
	}{
		{`coupon`, "coupon", ""},
		{`gift_wrap`, "gift_wrap", ""},
		{`Coupon`, "body", "Coupon"},
		{`<script>alert(1)</script>`, "body", "alert(1)"},
		{`\u003cimg src=x\u003e`, "body", "img src"},
		{`password=hunter2`, "body", "hunter2"},
		{strings.Repeat("x", 33), "body", strings.Repeat("x", 33)},
		{"a\\nb", "body", "a\nb"},
		{"ünicode", "body", "nicode"},
		{``, "body", ""},
	} {
		body := fmt.Sprintf(`{"customer_id": 1, "items": [{"product_id": 1, "quantity": 1}], "%s": 1}`, tc.name)
		resp, raw := s.do(t, "POST", "/orders", body, nil)
		var got map[string]any
		_ = json.Unmarshal(raw, &got)
		if resp.StatusCode != 400 || got["field"] != tc.field || !strings.Contains(fmt.Sprint(got["error"]), "unknown field") {
			t.Errorf("field %q: %d %s, want 400 naming %q", tc.name, resp.StatusCode, raw, tc.field)
		}
		if tc.leak != "" && (strings.Contains(string(raw), tc.leak) || strings.Contains(s.logs.String(), tc.leak)) {
			t.Errorf("field %q is echoed: answer %s, log:\n%s", tc.name, raw, s.logs)
		}
	}
}

// TestBodyLimit: a body over the limit (-max-body, 64 KiB by default) is
// refused with 413 naming the body, on any route.
func TestBodyLimit(t *testing.T) {
	t.Parallel()
	s := newTestService(t, pgkit.Config{}, 5*time.Second)
	big := `{"customer_id": 1, "items": [{"product_id": 1, "quantity": 1}], "pad": "` + strings.Repeat("x", 70<<10) + `"}`
	resp, raw := s.do(t, "POST", "/orders", big, nil)
	var got map[string]any
	_ = json.Unmarshal(raw, &got)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || got["field"] != "body" {
		t.Errorf("70 KiB order: %d %s, want 413 naming the body", resp.StatusCode, raw)
	}
	resp, raw = s.do(t, "POST", "/orders", `{"customer_id": 1, "items": [{"product_id": 1, "quantity": 1}], "pad": "`+strings.Repeat("x", 60<<10)+`"}`, nil)
	if resp.StatusCode != 400 || !strings.Contains(string(raw), `"field":"pad"`) {
		t.Errorf("60 KiB order: %d %s, want 400 naming the unknown field pad", resp.StatusCode, raw)
	}
}

var footer = regexp.MustCompile(`Fetched[^<]*`)

// TestFooterNamesTheFetch: the HTML page says how its queries were sent,
// for every ?fetch= mode, on a plain and on a multiplexing pool.
func TestFooterNamesTheFetch(t *testing.T) {
	onBothPools(t, func(t *testing.T, s *testService, multiplex bool) {
		for _, tc := range []struct{ query, want string }{
			{"", "Fetched with db.Batch: 3 queries in one round trip on one connection."},
			{"&fetch=batch", "Fetched with db.Batch: 3 queries in one round trip on one connection."},
			{"&fetch=one-statement", "Fetched with one statement (db.ProductPageLoad): the lists as JSON, one round trip."},
			{"&fetch=pipelined", "Fetched with pgkit.Pipeline: 3 queries in one round trip on one connection."},
			{"&fetch=concurrent", map[bool]string{
				false: "Fetched with pgkit.Gather: 3 queries at once, on a connection each.",
				true:  "Fetched with pgkit.Gather: 3 queries at once, multiplexed on shared connections (pgkit.Config.Multiplex).",
			}[multiplex]},
			{"&fetch=sequential", map[bool]string{
				false: "Fetched with 3 sequential calls, a round trip each.",
				true:  "Fetched with 3 sequential calls, multiplexed on shared connections (pgkit.Config.Multiplex).",
			}[multiplex]},
		} {
			resp, raw := s.do(t, "GET", "/?product=1&customer=1"+tc.query, "", nil)
			if resp.StatusCode != 200 || !strings.Contains(string(raw), tc.want) {
				t.Errorf("/?product=1&customer=1%s: %d, footer %q, want %q", tc.query, resp.StatusCode, footer.Find(raw), tc.want)
			}
		}
	})
}
