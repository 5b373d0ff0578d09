package main

import (
	"strings"
	"testing"
	"time"

	"github.com/shopdb/shopdb/pgkit"
)

// TestOutside17bReviewsCursorOutOfRange: GET /products/{id}/reviews
// answers a malformed before= with 400 naming the field ("want a cursor
// returned by a page of reviews (next)"), but a well-formed cursor whose
// time PostgreSQL cannot hold is a 500 "internal error":
// before=5.-210866803200000001.1 is one microsecond before 4714-11-24 BC,
// timestamptz's first instant, and the server refuses the parameter
// (a data exception, the client's input). And before=5.<min int64>.1, the
// earliest cursor there can be, returns every review instead of none: the
// time wraps around when it is sent. A hostile or stale cursor must be a
// 400 naming before, or the page it denotes; never a 500, never the wrong page.
func TestOutside17bReviewsCursorOutOfRange(t *testing.T) {
	s := newTestService(t, pgkit.Config{}, 5*time.Second)
	for _, sort := range []string{"newest", "highest_rated"} {
		for _, micros := range []string{"-210866803200000001", "-9223372036854775808"} {
			path := "/products/1/reviews?sort=" + sort + "&before=5." + micros + ".1"
			code, _, body := s.call(t, "GET", path, "")
			switch {
			case code == 400 && body["field"] == "before":
			case code == 200 && len(body["reviews"].([]any)) == 0 && sort == "newest":
			case code == 200 && sort == "highest_rated":
				// rating 5 at the dawn of time: every review rated below 5 follows
				for _, r := range body["reviews"].([]any) {
					if r.(map[string]any)["rating"].(float64) >= 5 {
						t.Errorf("GET %s: a review rated 5 after a cursor at rating 5 and the earliest time: %v", path, r)
					}
				}
			default:
				t.Errorf("GET %s: %d %v, want 400 naming before, or the (empty) page before the earliest time", path, code, body)
			}
		}
	}
	if logs := s.logs.String(); strings.Contains(logs, `"status":500`) {
		for _, l := range strings.Split(logs, "\n") {
			if strings.Contains(l, `"status":500`) || strings.Contains(l, "ERROR") {
				t.Log(l)
			}
		}
	}
}
