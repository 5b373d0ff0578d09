package queries_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/internal/testshop"
)

// TestReviewListSorts: each order of ReviewList is its own statement and
// returns the product's reviews in that order, its stream the same rows;
// each keyset starts after the review it names, in its own order; an
// unknown order runs nothing and names itself.
func TestReviewListSorts(t *testing.T) {
	ctx, d, q := testshop.Setup(t)
	p, _ := testshop.Shop(t, ctx, q) // ratings 2, 3, 4, oldest first
	if _, err := d.Exec(ctx, "UPDATE reviews SET created_at = timestamptz '2026-03-01' - review_id * interval '1 hour'"); err != nil {
		t.Fatal(err) // now the highest rated (the last written) is the oldest
	}
	ids := func(rs []db.Review) (out []int64) {
		for _, r := range rs {
			out = append(out, r.ReviewID)
		}
		return out
	}
	all := testshop.Must(q.ReviewList(ctx, db.ReviewListParams{ProductID: p.ProductID, Max: 10}, db.ReviewListSortNewest))(t)
	rated := testshop.Must(q.ReviewList(ctx, db.ReviewListParams{ProductID: p.ProductID, Max: 10}, db.ReviewListSortHighestRated))(t)
	if len(all) != 3 || !slices.IsSortedFunc(all, func(a, b db.Review) int { return b.CreatedAt.Compare(a.CreatedAt) }) {
		t.Fatalf("newest: %+v", all)
	}
	if len(rated) != 3 || !slices.IsSortedFunc(rated, func(a, b db.Review) int { return int(b.Rating - a.Rating) }) {
		t.Fatalf("highest_rated: %+v", rated)
	}
	if slices.Equal(ids(all), ids(rated)) {
		t.Fatalf("both orders gave %v", ids(all))
	}
	def := testshop.Must(q.ReviewList(ctx, db.ReviewListParams{ProductID: p.ProductID, Max: 10}, ""))(t)
	if !slices.Equal(ids(def), ids(all)) {
		t.Fatalf("the zero sort gave %v, want newest %v", ids(def), ids(all))
	}
	var streamed []db.Review
	for r, err := range q.ReviewListStream(ctx, db.ReviewListParams{ProductID: p.ProductID, Max: 10}, db.ReviewListSortHighestRated) {
		if err != nil {
			t.Fatal(err)
		}
		streamed = append(streamed, r)
	}
	if !slices.Equal(ids(streamed), ids(rated)) {
		t.Fatalf("stream %v, list %v", ids(streamed), ids(rated))
	}

	// Keysets: after the first of each order come the other two.
	first := rated[0]
	next := testshop.Must(q.ReviewList(ctx, db.ReviewListParams{ProductID: p.ProductID, Max: 10,
		RatedBeforeRating: &first.Rating, RatedBeforeCreatedAt: &first.CreatedAt, RatedBeforeReviewID: &first.ReviewID}, db.ReviewListSortHighestRated))(t)
	if !slices.Equal(ids(next), ids(rated[1:])) {
		t.Fatalf("highest_rated after %d: %v, want %v", first.ReviewID, ids(next), ids(rated[1:]))
	}
	first = all[0]
	next = testshop.Must(q.ReviewList(ctx, db.ReviewListParams{ProductID: p.ProductID, Max: 10,
		NewestBeforeCreatedAt: &first.CreatedAt, NewestBeforeReviewID: &first.ReviewID}, db.ReviewListSortNewest))(t)
	if !slices.Equal(ids(next), ids(all[1:])) {
		t.Fatalf("newest after %d: %v, want %v", first.ReviewID, ids(next), ids(all[1:]))
	}

	if _, err := q.ReviewList(ctx, db.ReviewListParams{ProductID: p.ProductID, Max: 10}, "cheapest"); err == nil || !strings.Contains(err.Error(), `unknown sort "cheapest"`) {
		t.Fatalf("sort cheapest: %v", err)
	}
	if s, err := db.ParseReviewListSort("highest_rated"); err != nil || s != db.ReviewListSortHighestRated {
		t.Fatalf("ParseReviewListSort: %q, %v", s, err)
	}
}
