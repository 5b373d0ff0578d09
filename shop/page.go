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

// FetchMode says how LoadProductPage sends its queries.
type FetchMode int

// The fetch modes. The zero value is Batched.
const (
	// Batched sends the page's queries in one round trip as one db.Batch,
	// every answer scanned on the caller's goroutine (no goroutine per
	// query): the least client CPU per page, so the default. On any pool,
	// connection or transaction.
	Batched FetchMode = iota
	// Pipelined sends the page's queries on one connection in one round
	// trip (pgkit.Pipeline): Batched's round trip, with each query in a
	// function of its own, which costs a goroutine hand-off per query.
	Pipelined
	// Concurrent runs them at once on connections of their own
	// (pgkit.Gather); inside a transaction it is Pipelined.
	Concurrent
	// Sequential runs them one after another on the pool.
	Sequential
	// OneStatement sends one statement (db.ProductPageLoad): the product
	// with both lists as json_agg columns, decoded into the same
	// db.Review and db.Order. One round trip, one Sync, on any pool or
	// transaction.
	OneStatement
)

// String names the mode as the shop's ?fetch= parameter does.
func (m FetchMode) String() string {
	switch m {
	case Concurrent:
		return "concurrent"
	case Sequential:
		return "sequential"
	case OneStatement:
		return "one-statement"
	case Pipelined:
		return "pipelined"
	}
	return "batch"
}

// Default page sizes of ProductPageRequest.
const (
	DefaultPageReviews = 10
	DefaultPageOrders  = 10
)

// MaxPageItems bounds ProductPageRequest.Reviews and Orders.
const MaxPageItems = 100

// ProductPageRequest says what LoadProductPage fetches. Zero sizes take the
// defaults above; larger than MaxPageItems is refused.
type ProductPageRequest struct {
	ProductID     int64
	CustomerID    int64  // 0: no order history
	Reviews       int32  // newest reviews on the page
	Orders        int32  // newest orders of the customer on the page
	ReviewsBefore Cursor // zero: from the newest; else ProductPage.NextReviews of the page before
	OrdersBefore  Cursor // zero: from the newest; else ProductPage.NextOrders of the page before
	Mode          FetchMode
}

// ProductPage is the e-commerce product page of the articles: the product,
// its newest reviews and the customer's order history, fetched together.
// Reviews and Orders are never nil, so they encode as [] when empty.
type ProductPage struct {
	Product db.Product
	Reviews []db.Review
	Orders  []db.Order
	// NextReviews and NextOrders are where the next page of each list
	// starts; nil when the list has no more.
	NextReviews *Cursor
	NextOrders  *Cursor
}

// Cursor is a position in a newest-first list: the creation time and id of
// the last item seen (keyset pagination, never OFFSET).
type Cursor struct {
	CreatedAt time.Time
	ID        int64
}

// IsZero reports the cursor of the first page.
func (c Cursor) IsZero() bool { return c.ID == 0 }

// keyset returns the cursor as the optional before_created_at and
// before_… parameters of the list queries: both nil for the first page.
func (c Cursor) keyset() (*time.Time, *int64) {
	if c.IsZero() {
		return nil, nil
	}
	return &c.CreatedAt, &c.ID
}

// String encodes the cursor for a URL: "<unix microseconds>.<id>".
// PostgreSQL keeps microseconds, so the round trip is exact.
func (c Cursor) String() string {
	return strconv.FormatInt(c.CreatedAt.UnixMicro(), 10) + "." + strconv.FormatInt(c.ID, 10)
}

// Bounds of a cursor's time, in Unix microseconds: years 1 to 9999. A
// page only returns times in them, and PostgreSQL (4713 BC to 294276 AD)
// and pgx's encoding (microseconds from 2000 in an int64) hold them all.
const (
	minCursorMicros = -62135596800000000 // 0001-01-01T00:00:00Z
	maxCursorMicros = 253402300799999999 // 9999-12-31T23:59:59.999999Z
)

// cursorTime reports whether micros is a time a cursor may carry.
func cursorTime(micros int64) bool { return micros >= minCursorMicros && micros <= maxCursorMicros }

// ParseCursor decodes Cursor.String's form; "" is the zero cursor.
func ParseCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	ts, id, ok := strings.Cut(s, ".")
	micros, err1 := strconv.ParseInt(ts, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if !ok || err1 != nil || err2 != nil || n <= 0 || !cursorTime(micros) {
		return Cursor{}, fmt.Errorf("%w: want <microseconds>.<id> as returned in a page", ErrInvalidCursor)
	}
	return Cursor{CreatedAt: time.UnixMicro(micros).UTC(), ID: n}, nil
}

// trimPage cuts items, fetched one longer than a page of n, to the page,
// and returns the cursor of the next page when there is one (a Cursor, or
// ListReviews' ReviewCursor). Items stay non-nil (an empty list encodes as
// []).
func trimPage[T, C any](items []T, n int32, cursor func(T) C) ([]T, *C) {
	if items == nil {
		return []T{}, nil
	}
	if len(items) <= int(n) {
		return items, nil
	}
	items = items[:n]
	c := cursor(items[len(items)-1])
	return items, &c
}

// LoadProductPage fetches the page's product, reviews and orders at once,
// as req.Mode says, on src: a pool, or a transaction (a *pgkit.Tx, or
// q.DB() of the Queries inside pgkit.WithTx), whose connection it then
// shares. An unknown product fails with an error matching
// pgerr.ErrNotFound; an unknown customer just has no orders.
func LoadProductPage(ctx context.Context, src pgkit.DBTX, req ProductPageRequest) (ProductPage, error) {
	if req.Reviews <= 0 {
		req.Reviews = DefaultPageReviews
	}
	if req.Orders <= 0 {
		req.Orders = DefaultPageOrders
	}
	if req.Reviews > MaxPageItems || req.Orders > MaxPageItems {
		return ProductPage{}, fmt.Errorf("load product page: %w: at most %d reviews and %d orders", ErrPageTooLarge, MaxPageItems, MaxPageItems)
	}
	switch req.Mode {
	case OneStatement:
		return loadOneStatement(ctx, src, req)
	case Pipelined, Concurrent, Sequential:
		// Each query in a function of its own, below.
	default:
		return loadBatched(ctx, src, req)
	}
	page := ProductPage{Reviews: []db.Review{}, Orders: []db.Order{}}
	// One more than asked tells whether a next page exists.
	fns := []func(context.Context, *db.Queries) error{
		func(ctx context.Context, q *db.Queries) (err error) {
			page.Product, err = q.ProductGetByID(ctx, req.ProductID)
			return err
		},
		func(ctx context.Context, q *db.Queries) (err error) {
			before, beforeID := req.ReviewsBefore.keyset()
			reviews, err := q.ReviewListByProduct(ctx, db.ReviewListByProductParams{
				ProductID: req.ProductID, Max: req.Reviews + 1,
				BeforeReviewID: beforeID, BeforeCreatedAt: before,
			})
			page.Reviews, page.NextReviews = trimPage(reviews, req.Reviews, func(r db.Review) Cursor { return Cursor{r.CreatedAt, r.ReviewID} })
			return err
		},
	}
	if req.CustomerID != 0 {
		fns = append(fns, func(ctx context.Context, q *db.Queries) (err error) {
			before, beforeID := req.OrdersBefore.keyset()
			orders, err := q.OrderListByUser(ctx, db.OrderListByUserParams{
				UserID: req.CustomerID, Max: req.Orders + 1,
				BeforeOrderID: beforeID, BeforeCreatedAt: before,
			})
			page.Orders, page.NextOrders = trimPage(orders, req.Orders, func(o db.Order) Cursor { return Cursor{o.CreatedAt, o.OrderID} })
			return err
		})
	}
	var err error
	switch req.Mode {
	case Concurrent:
		err = pgkit.Gather(ctx, src, db.New, fns...)
	case Sequential:
		q := db.New(pgkit.Wrap(src))
		for _, fn := range fns {
			if err = fn(ctx, q); err != nil {
				break
			}
		}
	case Pipelined:
		err = pgkit.Pipeline(ctx, src, db.New, fns...)
	}
	if err != nil {
		return ProductPage{}, fmt.Errorf("load product page: %w", err)
	}
	return page, nil
}
