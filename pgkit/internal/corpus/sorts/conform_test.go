package sorts_test

import (
	"embed"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shopdb/shopdb/pgkit/internal/corpus/conform"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/sorts"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

//go:embed migrations/*.sql
var migrations embed.FS

func TestMain(m *testing.M) { os.Exit(pgkittest.Run(m)) }

// ids returns the IDs of rows, in order.
func ids[R any](rows []R, id func(R) int64) []int64 {
	out := make([]int64, len(rows))
	for i, r := range rows {
		out[i] = id(r)
	}
	return out
}

func reviewID(r sorts.Review) int64   { return r.ID }
func productID(p sorts.Product) int64 { return p.ID }

func TestConformance(t *testing.T) {
	p := conform.Package{Migrations: conform.Migrations(migrations), Queries: (*sorts.Queries)(nil), Batch: (*sorts.Batch)(nil), Decoders: sorts.Decoders()}
	conform.Run(t, p, sorts.New, func() []conform.Step[*sorts.Queries] {
		var widget, gadget, gizmo sorts.Product
		var r1, r2, r3, r4 sorts.Review
		t0 := time.Date(2024, time.March, 1, 9, 0, 0, 0, time.UTC)
		return []conform.Step[*sorts.Queries]{
			{Name: "create", Run: func(c *conform.C, q *sorts.Queries) error {
				var err error
				for _, p := range []struct {
					to   *sorts.Product
					name string
				}{{&widget, "Widget"}, {&gadget, "Gadget"}, {&gizmo, "Gizmo"}} {
					*p.to, err = q.CreateProduct(c.Ctx, p.name)
					conform.NoErr(c, "CreateProduct", err)
				}
				for k, r := range []struct {
					to     *sorts.Review
					rating int32
				}{{&r1, 3}, {&r2, 5}, {&r3, 5}, {&r4, 1}} {
					*r.to, err = q.CreateReview(c.Ctx, &sorts.CreateReviewParams{
						ProductID: widget.ID, Rating: r.rating, Body: "review", CreatedAt: pgtype.Timestamptz{Time: t0.Add(time.Duration(k) * time.Hour), Valid: true},
					})
					conform.NoErr(c, "CreateReview", err)
				}
				return nil
			}},
			{Name: "every order of a :many with params and LIMIT", Read: true, Run: func(c *conform.C, q *sorts.Queries) error {
				var s sorts.Store = q // Store lists the public method with its sort parameter
				all := &sorts.ReviewsParams{ProductID: widget.ID, Lim: 10}
				for _, tc := range []struct {
					sort sorts.ReviewsSort
					want []int64
				}{
					{"", []int64{r4.ID, r3.ID, r2.ID, r1.ID}}, // the zero value is the default, newest
					{sorts.ReviewsSortNewest, []int64{r4.ID, r3.ID, r2.ID, r1.ID}},
					{sorts.ReviewsSortHighestRated, []int64{r3.ID, r2.ID, r1.ID, r4.ID}},
					{sorts.ReviewsSortOldest, []int64{r1.ID, r2.ID, r3.ID, r4.ID}},
				} {
					got := conform.Many[sorts.Review](c, s, "Reviews", c.Ctx, all, tc.sort)
					conform.Equal(c, "Reviews sorted "+tc.sort.String(), ids(got, reviewID), tc.want)
				}
				got := conform.Many[sorts.Review](c, q, "Reviews", c.Ctx, &sorts.ReviewsParams{ProductID: widget.ID, Lim: 2}, sorts.ReviewsSortOldest)
				conform.Equal(c, "Reviews oldest, LIMIT 2", got, []sorts.Review{r1, r2})
				none := conform.Many[sorts.Review](c, q, "Reviews", c.Ctx, &sorts.ReviewsParams{ProductID: gizmo.ID, Lim: 10}, sorts.ReviewsSortHighestRated)
				conform.Equal(c, "Reviews of a product without any", len(none), 0)
				return nil
			}},
			{Name: "a :many with one parameter", Read: true, Run: func(c *conform.C, q *sorts.Queries) error {
				byName := conform.Many[sorts.Product](c, q, "ProductNames", c.Ctx, "G%", sorts.ProductNamesSort(""))
				conform.Equal(c, "ProductNames by name (default)", ids(byName, productID), []int64{gadget.ID, gizmo.ID})
				newest := conform.Many[sorts.Product](c, q, "ProductNames", c.Ctx, "G%", sorts.ProductNamesSortNewest)
				conform.Equal(c, "ProductNames newest", ids(newest, productID), []int64{gizmo.ID, gadget.ID})
				return nil
			}},
			{Name: "a :one", Read: true, Run: func(c *conform.C, q *sorts.Queries) error {
				best, err := q.TopReview(c.Ctx, widget.ID, "")
				conform.NoErr(c, "TopReview", err)
				conform.Equal(c, "TopReview best (default)", best, sorts.TopReviewRow{ID: r2.ID, Rating: 5})
				worst, err := q.TopReview(c.Ctx, widget.ID, sorts.TopReviewSortWorst)
				conform.NoErr(c, "TopReview", err)
				conform.Equal(c, "TopReview worst", worst, sorts.TopReviewRow{ID: r4.ID, Rating: 1})
				_, err = q.TopReview(c.Ctx, gizmo.ID, sorts.TopReviewSortWorst)
				conform.WantNotFound(c, err, "TopReview")
				return nil
			}},
			{Name: "an :opt", Read: true, Run: func(c *conform.C, q *sorts.Queries) error {
				newest, ok := conform.Opt[sorts.Review](c, q, "EdgeReview", c.Ctx, widget.ID, sorts.EdgeReviewSort(""))
				conform.Equal(c, "EdgeReview newest (default)", []any{newest, ok}, []any{r4, true})
				oldest, ok := conform.Opt[sorts.Review](c, q, "EdgeReview", c.Ctx, widget.ID, sorts.EdgeReviewSortOldest)
				conform.Equal(c, "EdgeReview oldest", []any{oldest, ok}, []any{r1, true})
				_, ok = conform.Opt[sorts.Review](c, q, "EdgeReview", c.Ctx, gizmo.ID, sorts.EdgeReviewSortOldest)
				conform.Equal(c, "EdgeReview of a product without reviews found", ok, false)
				_, ok, err := q.EdgeReview(c.Ctx, widget.ID, "middle")
				if ok || err == nil || !strings.Contains(err.Error(), `unknown sort "middle"`) {
					c.Errorf("EdgeReview with an unknown sort (%s): %v, %v", c.Mode, ok, err)
				}
				return nil
			}},
			{Name: "unknown orders are errors", Read: true, Run: func(c *conform.C, q *sorts.Queries) error {
				bad := sorts.ReviewsSort("rating; DROP TABLE reviews")
				if bad.Valid() {
					c.Errorf("%q is Valid", bad)
				}
				_, err := q.Reviews(c.Ctx, &sorts.ReviewsParams{ProductID: widget.ID, Lim: 1}, bad)
				if err == nil || !strings.Contains(err.Error(), "unknown sort") || !strings.Contains(err.Error(), string(bad)) {
					c.Errorf("Reviews with an unknown sort (%s): %v, want an error naming it", c.Mode, err)
				}
				n := 0
				for _, err := range q.ReviewsStream(c.Ctx, &sorts.ReviewsParams{ProductID: widget.ID, Lim: 1}, bad) {
					n++
					if err == nil || !strings.Contains(err.Error(), "unknown sort") {
						c.Errorf("ReviewsStream with an unknown sort (%s): %v", c.Mode, err)
					}
				}
				conform.Equal(c, "ReviewsStream with an unknown sort: items", n, 1)
				_, err = q.TopReview(c.Ctx, widget.ID, "sideways")
				if err == nil || !strings.Contains(err.Error(), `"sideways"`) {
					c.Errorf("TopReview with an unknown sort (%s): %v", c.Mode, err)
				}
				return nil
			}},
		}
	})
}

func TestParseSort(t *testing.T) {
	for in, want := range map[string]sorts.ReviewsSort{"": "", "newest": sorts.ReviewsSortNewest, "highest_rated": sorts.ReviewsSortHighestRated, "oldest": sorts.ReviewsSortOldest} {
		got, err := sorts.ParseReviewsSort(in)
		if err != nil || got != want {
			t.Errorf("ParseReviewsSort(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"Newest", "rating", "newest ", "highest-rated"} {
		if got, err := sorts.ParseReviewsSort(in); err == nil || !strings.Contains(err.Error(), "unknown sort") || !strings.Contains(err.Error(), "newest, highest_rated, oldest") {
			t.Errorf("ParseReviewsSort(%q) = %q, %v; want an error listing the orders", in, got, err)
		}
	}
	if s := sorts.ReviewsSort("").String(); s != "newest" {
		t.Errorf("the zero ReviewsSort is %q, want the default newest", s)
	}
	if s := sorts.ReviewsSortHighestRated.String(); s != "highest_rated" {
		t.Errorf("ReviewsSortHighestRated is %q", s)
	}
}
