package shop

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/pgkit"
)

// ReviewsRequest says which of a product's reviews ListReviews fetches.
type ReviewsRequest struct {
	ProductID int64
	// Sort is db.ReviewListSortNewest (the zero value) or
	// db.ReviewListSortHighestRated; db.ParseReviewListSort reads it from
	// a URL.
	Sort db.ReviewListSort
	// Limit is the page size: zero takes DefaultPageReviews, more than
	// MaxPageItems is refused.
	Limit int32
	// Before is where the page starts: zero for the first page, else
	// ReviewsPage.Next of the page before in the same Sort.
	Before ReviewCursor
}

// ReviewsPage is one page of a product's reviews in the order asked.
// Reviews is never nil; Next is where the next page starts, nil when
// there is none.
type ReviewsPage struct {
	Reviews []db.Review
	Next    *ReviewCursor
}

// ReviewCursor is a position in a sorted list of reviews: the rating,
// creation time and id of the last review seen. Newest first uses the last
// two, highest rated first all three.
type ReviewCursor struct {
	Rating    int16
	CreatedAt time.Time
	ID        int64
}

// IsZero reports the cursor of the first page.
func (c ReviewCursor) IsZero() bool { return c.ID == 0 }

// String encodes the cursor for a URL: "<rating>.<unix microseconds>.<id>".
func (c ReviewCursor) String() string {
	return strconv.Itoa(int(c.Rating)) + "." + strconv.FormatInt(c.CreatedAt.UnixMicro(), 10) + "." + strconv.FormatInt(c.ID, 10)
}

// ParseReviewCursor decodes ReviewCursor.String's form; "" is the zero
// cursor.
func ParseReviewCursor(s string) (ReviewCursor, error) {
	if s == "" {
		return ReviewCursor{}, nil
	}
	bad := fmt.Errorf("%w: want <rating>.<microseconds>.<id> as returned in a page of reviews", ErrInvalidCursor)
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return ReviewCursor{}, bad
	}
	rating, err1 := strconv.ParseInt(parts[0], 10, 16)
	micros, err2 := strconv.ParseInt(parts[1], 10, 64)
	id, err3 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || id <= 0 || !cursorTime(micros) {
		return ReviewCursor{}, bad
	}
	return ReviewCursor{Rating: int16(rating), CreatedAt: time.UnixMicro(micros).UTC(), ID: id}, nil
}

// ListReviews returns a page of a product's reviews in req.Sort's order,
// from one static statement per order (db.ReviewList): no SQL is built at
// run time. An unknown product has no reviews. src is a pool or a
// transaction, as for LoadProductPage.
func ListReviews(ctx context.Context, src pgkit.DBTX, req ReviewsRequest) (ReviewsPage, error) {
	if req.Limit <= 0 {
		req.Limit = DefaultPageReviews
	}
	if req.Limit > MaxPageItems {
		return ReviewsPage{}, fmt.Errorf("list reviews: %w: at most %d reviews", ErrPageTooLarge, MaxPageItems)
	}
	if !req.Sort.Valid() {
		return ReviewsPage{}, fmt.Errorf("list reviews: %w", invalidSort(req.Sort))
	}
	// One more than asked tells whether a next page exists.
	arg := db.ReviewListParams{ProductID: req.ProductID, Max: req.Limit + 1}
	if c := req.Before; !c.IsZero() {
		if req.Sort == db.ReviewListSortHighestRated {
			arg.RatedBeforeRating, arg.RatedBeforeCreatedAt, arg.RatedBeforeReviewID = &c.Rating, &c.CreatedAt, &c.ID
		} else {
			arg.NewestBeforeCreatedAt, arg.NewestBeforeReviewID = &c.CreatedAt, &c.ID
		}
	}
	reviews, err := db.New(pgkit.Wrap(src)).ReviewList(ctx, arg, req.Sort)
	if err != nil {
		return ReviewsPage{}, fmt.Errorf("list reviews: %w", err)
	}
	var page ReviewsPage
	page.Reviews, page.Next = trimPage(reviews, req.Limit, func(r db.Review) ReviewCursor {
		return ReviewCursor{Rating: r.Rating, CreatedAt: r.CreatedAt, ID: r.ReviewID}
	})
	return page, nil
}

// invalidSort is the refusal of a sort ListReviews does not know, in
// db.ParseReviewListSort's words.
func invalidSort(s db.ReviewListSort) error {
	_, err := db.ParseReviewListSort(string(s))
	return fmt.Errorf("%w: %v", ErrInvalidSort, err)
}
