package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/shop"
)

// badRequest is input the service refuses with 400 (or status, when set:
// 413, 408): the field it names and why. Its text never echoes the input:
// a field name the client chose is named only when plainFieldName allows
// it.
type badRequest struct {
	Field  string `json:"field"`
	Reason string `json:"error"`
	status int
}

func (e *badRequest) Error() string { return e.Field + ": " + e.Reason }

// parseID reads a positive 64-bit id.
func parseID(field, s string) (int64, error) {
	if s == "" {
		return 0, &badRequest{Field: field, Reason: "required"}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, &badRequest{Field: field, Reason: "want a positive integer id"}
	}
	return n, nil
}

// pageRequest is what GET /products/{id} and /product/{pid}/{cid} read.
func pageRequest(productID, customerID string, q url.Values) (shop.ProductPageRequest, error) {
	var req shop.ProductPageRequest
	var err error
	if req.ProductID, err = parseID("product_id", productID); err != nil {
		return req, err
	}
	if customerID != "" {
		if req.CustomerID, err = parseID("customer_id", customerID); err != nil {
			return req, err
		}
	}
	for field, dst := range map[string]*int32{"reviews": &req.Reviews, "orders": &req.Orders} {
		s := q.Get(field)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > shop.MaxPageItems {
			return req, &badRequest{Field: field, Reason: fmt.Sprintf("want a page size from 1 to %d", shop.MaxPageItems)}
		}
		*dst = int32(n)
	}
	for field, dst := range map[string]*shop.Cursor{"reviews_before": &req.ReviewsBefore, "orders_before": &req.OrdersBefore} {
		c, err := shop.ParseCursor(q.Get(field))
		if err != nil {
			return req, &badRequest{Field: field, Reason: "want a cursor returned by a page (next_reviews, next_orders)"}
		}
		*dst = c
	}
	switch q.Get("fetch") {
	case "", "batch":
		req.Mode = shop.Batched
	case "pipelined":
		req.Mode = shop.Pipelined
	case "concurrent":
		req.Mode = shop.Concurrent
	case "sequential":
		req.Mode = shop.Sequential
	case "one-statement":
		req.Mode = shop.OneStatement
	default:
		return req, &badRequest{Field: "fetch", Reason: "want batch, pipelined, concurrent, sequential or one-statement"}
	}
	return req, nil
}

// orderRequest is the body of POST /orders.
type orderRequest struct {
	CustomerID int64       `json:"customer_id"`
	Items      []orderItem `json:"items"`
}

type orderItem struct {
	ProductID int64 `json:"product_id"`
	Quantity  int64 `json:"quantity"`
}

// maxOrderBody bounds the body of POST /orders; maxOrderItems its lines.
const (
	maxOrderBody  = 64 << 10
	maxOrderItems = 100
)

// bodyTooLarge is the refusal of a body over limit bytes.
func bodyTooLarge(limit int64) *badRequest {
	return &badRequest{Field: "body", Reason: fmt.Sprintf("larger than %d bytes", limit), status: http.StatusRequestEntityTooLarge}
}

// decodeOrder reads and checks an order: every failure names its field.
// The body is at most maxOrderBody bytes, also when r allows more; r may
// be an http.MaxBytesReader with a lower limit.
func decodeOrder(r io.Reader) (int64, []shop.OrderLine, error) {
	body, err := io.ReadAll(io.LimitReader(r, maxOrderBody+1))
	var tooBig *http.MaxBytesError
	var netErr net.Error
	switch {
	case errors.As(err, &tooBig):
		return 0, nil, bodyTooLarge(tooBig.Limit)
	case errors.As(err, &netErr) && netErr.Timeout():
		// The server's -read-timeout: the connection is closed after this.
		return 0, nil, &badRequest{Field: "body", Reason: "not received in time", status: http.StatusRequestTimeout}
	case err != nil:
		return 0, nil, &badRequest{Field: "body", Reason: "could not be read"}
	case len(body) > maxOrderBody:
		return 0, nil, bodyTooLarge(maxOrderBody)
	}
	if err := checkKeys(body); err != nil {
		return 0, nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var req orderRequest
	if err := dec.Decode(&req); err != nil {
		return 0, nil, jsonError(err)
	}
	if dec.More() {
		return 0, nil, &badRequest{Field: "body", Reason: "want one JSON object"}
	}
	if req.CustomerID <= 0 {
		return 0, nil, &badRequest{Field: "customer_id", Reason: "want a positive integer id"}
	}
	if len(req.Items) == 0 {
		return 0, nil, &badRequest{Field: "items", Reason: "want at least one item"}
	}
	if len(req.Items) > maxOrderItems {
		return 0, nil, &badRequest{Field: "items", Reason: fmt.Sprintf("at most %d items", maxOrderItems)}
	}
	lines := make([]shop.OrderLine, len(req.Items))
	for i, it := range req.Items {
		if it.ProductID <= 0 {
			return 0, nil, &badRequest{Field: fmt.Sprintf("items[%d].product_id", i), Reason: "want a positive integer id"}
		}
		if it.Quantity < 1 || it.Quantity > math.MaxInt32 {
			return 0, nil, &badRequest{Field: fmt.Sprintf("items[%d].quantity", i), Reason: fmt.Sprintf("want an integer from 1 to %d", math.MaxInt32)}
		}
		lines[i] = shop.OrderLine{ProductID: it.ProductID, Quantity: int32(it.Quantity)}
	}
	return req.CustomerID, lines, nil
}

// jsonError names the field a JSON decoding error is about.
func jsonError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		return &badRequest{Field: field, Reason: "want " + jsonKind(typeErr.Type.Kind().String())}
	case errors.As(err, &syntaxErr):
		return &badRequest{Field: "body", Reason: fmt.Sprintf("malformed JSON at byte %d", syntaxErr.Offset)}
	case errors.Is(err, io.EOF):
		return &badRequest{Field: "body", Reason: "empty; want a JSON object"}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &badRequest{Field: "body", Reason: "truncated JSON"}
	case strings.HasPrefix(err.Error(), unknownFieldPrefix):
		// encoding/json has no typed error for this: its text is the only
		// place the name is, `json: unknown field "<name>"`.
		name := strings.TrimSuffix(strings.TrimPrefix(err.Error(), unknownFieldPrefix), `"`)
		if plainFieldName(name) {
			return &badRequest{Field: name, Reason: "unknown field"}
		}
		return &badRequest{Field: "body", Reason: unknownOtherName}
	}
	return &badRequest{Field: "body", Reason: "malformed JSON"}
}

const unknownFieldPrefix = `json: unknown field "`

// unknownOtherName is the refusal of an unknown field whose name the
// answer does not repeat.
const unknownOtherName = "unknown field (a name of other than 1 to 32 of a-z and _, not repeated)"

// plainFieldName reports a name of 1 to 32 characters a-z and _: the only
// client-chosen field names an answer or a log line repeats.
func plainFieldName(name string) bool {
	if len(name) < 1 || len(name) > 32 {
		return false
	}
	for _, c := range []byte(name) {
		if (c < 'a' || c > 'z') && c != '_' {
			return false
		}
	}
	return true
}

func jsonKind(kind string) string {
	switch kind {
	case "int64", "int32", "int":
		return "an integer"
	case "slice":
		return "an array"
	case "struct":
		return "an object"
	}
	return kind
}

// reviewsRequest is what GET /products/{id}/reviews reads: ?sort=newest
// (the default) or highest_rated, ?limit= (1 to shop.MaxPageItems) and
// ?before= (the next cursor of the page before).
func reviewsRequest(productID string, q url.Values) (shop.ReviewsRequest, error) {
	var req shop.ReviewsRequest
	var err error
	if req.ProductID, err = parseID("product_id", productID); err != nil {
		return req, err
	}
	if req.Sort, err = db.ParseReviewListSort(q.Get("sort")); err != nil {
		return req, &badRequest{Field: "sort", Reason: "want newest or highest_rated"}
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > shop.MaxPageItems {
			return req, &badRequest{Field: "limit", Reason: fmt.Sprintf("want a page size from 1 to %d", shop.MaxPageItems)}
		}
		req.Limit = int32(n)
	}
	if req.Before, err = shop.ParseReviewCursor(q.Get("before")); err != nil {
		return req, &badRequest{Field: "before", Reason: "want a cursor returned by a page of reviews (next)"}
	}
	return req, nil
}
