package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"strconv"
	"strings"

	"github.com/shopdb/shopdb/shop"
)

// badRequest is input the service refuses with 400: the field it names and
// why. Its text never echoes the input.
type badRequest struct {
	Field  string `json:"field"`
	Reason string `json:"error"`
}

func (e *badRequest) Error() string { return e.Field + ": " + e.Reason }

// parseID reads a positive 64-bit id.
func parseID(field, s string) (int64, error) {
	if s == "" {
		return 0, &badRequest{field, "required"}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, &badRequest{field, "want a positive integer id"}
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
			return req, &badRequest{field, fmt.Sprintf("want a page size from 1 to %d", shop.MaxPageItems)}
		}
		*dst = int32(n)
	}
	for field, dst := range map[string]*shop.Cursor{"reviews_before": &req.ReviewsBefore, "orders_before": &req.OrdersBefore} {
		c, err := shop.ParseCursor(q.Get(field))
		if err != nil {
			return req, &badRequest{field, "want a cursor returned by a page (next_reviews, next_orders)"}
		}
		*dst = c
	}
	switch q.Get("fetch") {
	case "", "pipelined":
		req.Mode = shop.Pipelined
	case "concurrent":
		req.Mode = shop.Concurrent
	case "sequential":
		req.Mode = shop.Sequential
	default:
		return req, &badRequest{"fetch", "want pipelined, concurrent or sequential"}
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

// decodeOrder reads and checks an order: every failure names its field.
func decodeOrder(r io.Reader) (int64, []shop.OrderLine, error) {
	body, err := io.ReadAll(io.LimitReader(r, maxOrderBody+1))
	if err != nil {
		return 0, nil, &badRequest{"body", "could not be read"}
	}
	if len(body) > maxOrderBody {
		return 0, nil, &badRequest{"body", fmt.Sprintf("larger than %d bytes", maxOrderBody)}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var req orderRequest
	if err := dec.Decode(&req); err != nil {
		return 0, nil, jsonError(err)
	}
	if dec.More() {
		return 0, nil, &badRequest{"body", "want one JSON object"}
	}
	if req.CustomerID <= 0 {
		return 0, nil, &badRequest{"customer_id", "want a positive integer id"}
	}
	if len(req.Items) == 0 {
		return 0, nil, &badRequest{"items", "want at least one item"}
	}
	if len(req.Items) > maxOrderItems {
		return 0, nil, &badRequest{"items", fmt.Sprintf("at most %d items", maxOrderItems)}
	}
	lines := make([]shop.OrderLine, len(req.Items))
	for i, it := range req.Items {
		if it.ProductID <= 0 {
			return 0, nil, &badRequest{fmt.Sprintf("items[%d].product_id", i), "want a positive integer id"}
		}
		if it.Quantity < 1 || it.Quantity > math.MaxInt32 {
			return 0, nil, &badRequest{fmt.Sprintf("items[%d].quantity", i), fmt.Sprintf("want an integer from 1 to %d", math.MaxInt32)}
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
		return &badRequest{field, "want " + jsonKind(typeErr.Type.Kind().String())}
	case errors.As(err, &syntaxErr):
		return &badRequest{"body", fmt.Sprintf("malformed JSON at byte %d", syntaxErr.Offset)}
	case errors.Is(err, io.EOF):
		return &badRequest{"body", "empty; want a JSON object"}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &badRequest{"body", "truncated JSON"}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		if len(name) > 64 {
			name = name[:64] + "…"
		}
		if name == "" {
			return &badRequest{"body", `unknown field ""`}
		}
		return &badRequest{name, "unknown field"}
	}
	return &badRequest{"body", "malformed JSON"}
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
