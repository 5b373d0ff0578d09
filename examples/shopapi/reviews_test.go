package main

import (
	"fmt"
	"slices"
	"testing"
)

// TestReviewsSorted runs on a plain pool and on a multiplexing one: GET
// /products/{id}/reviews pages through the seeded reviews in each order,
// every review once, in the order asked.
func TestReviewsSorted(t *testing.T) {
	onBothPools(t, func(t *testing.T, s *testService, _ bool) { testReviewsSorted(t, s) })
}

type reviewKey struct {
	id, rating float64
	at         string
}

func testReviewsSorted(t *testing.T, s *testService) {
	lists := map[string][]reviewKey{}
	for _, sort := range []string{"", "newest", "highest_rated"} {
		var got []reviewKey
		path := "/products/1/reviews?limit=3&sort=" + sort
		for pages := 0; ; pages++ {
			code, _, page := s.call(t, "GET", path, "")
			if code != 200 || pages > 10 {
				t.Fatalf("sort %q page %d: status %d, %v", sort, pages, code, page)
			}
			want := sort
			if want == "" {
				want = "newest"
			}
			if page["sort"] != want {
				t.Fatalf("sort %q answered sort %v", sort, page["sort"])
			}
			for _, r := range page["reviews"].([]any) {
				m := r.(map[string]any)
				got = append(got, reviewKey{m["review_id"].(float64), m["rating"].(float64), m["created_at"].(string)})
			}
			next, ok := page["next"].(string)
			if !ok {
				break
			}
			path = fmt.Sprintf("/products/1/reviews?limit=3&sort=%s&before=%s", sort, next)
		}
		lists[sort] = got
	}
	if len(lists["newest"]) != 10 || !slices.Equal(lists[""], lists["newest"]) {
		t.Fatalf("newest: %d reviews; default: %v, newest: %v", len(lists["newest"]), lists[""], lists["newest"])
	}
	rated := lists["highest_rated"]
	if len(rated) != 10 {
		t.Fatalf("highest_rated: %d reviews, want 10", len(rated))
	}
	if slices.Equal(rated, lists["newest"]) {
		t.Fatal("highest_rated came back newest first: the seed does not tell the orders apart, or the sort was ignored")
	}
	seen := map[float64]bool{}
	for i, r := range rated {
		if seen[r.id] {
			t.Fatalf("highest_rated: review %v twice", r.id)
		}
		seen[r.id] = true
		if i > 0 && r.rating > rated[i-1].rating {
			t.Fatalf("highest_rated: %v after %v", r, rated[i-1])
		}
	}
	for _, tc := range []struct{ path, field string }{
		{"/products/1/reviews?sort=cheapest", "sort"},
		{"/products/1/reviews?limit=0", "limit"},
		{"/products/1/reviews?limit=101", "limit"},
		{"/products/1/reviews?before=1.2", "before"},
		{"/products/x/reviews", "product_id"},
	} {
		code, _, body := s.call(t, "GET", tc.path, "")
		if code != 400 || body["field"] != tc.field {
			t.Errorf("GET %s: %d %v, want 400 naming %s", tc.path, code, body, tc.field)
		}
	}
	if code, hdr, _ := s.call(t, "POST", "/products/1/reviews", ""); code != 405 || hdr.Get("Allow") == "" {
		t.Errorf("POST reviews: %d Allow %q, want 405 with Allow", code, hdr.Get("Allow"))
	}
}
