package main

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

// FuzzDecodeOrder: whatever the body, decodeOrder returns either a valid
// order or a *badRequest naming a field, and never panics. The seed corpus
// runs in every `go test`; `go test -fuzz FuzzDecodeOrder ./examples/shopapi`
// explores further.
func FuzzDecodeOrder(f *testing.F) {
	for _, seed := range []string{
		`{"customer_id": 1, "items": [{"product_id": 2, "quantity": 3}]}`,
		`{"customer_id": 1, "items": []}`,
		`{"customer_id": -1}`,
		`{"customer_id": 1e30, "items": [{"product_id": 1, "quantity": 1}]}`,
		`{"customer_id": 1, "items": [{"product_id": 1, "quantity": 2147483648}]}`,
		`{"customer_id": 1, "items": null}`,
		`{"customer_id": 1, "items": [{}]}`,
		`{"customer_id": 1, "items": [{"product_id": 1, "quantity": 1}], "x": 1}`,
		`[`, `null`, `""`, "\x00", `{"customer_id": 1, "items": [{"product_id": 1, "quantity": 1}]}{"a":1}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		customer, lines, err := decodeOrder(strings.NewReader(body))
		if err != nil {
			var bad *badRequest
			if !errors.As(err, &bad) || bad.Field == "" || bad.Reason == "" {
				t.Fatalf("body %q: error %v (%T) is not a badRequest naming a field", body, err, err)
			}
			return
		}
		if customer <= 0 || len(lines) == 0 || len(lines) > maxOrderItems {
			t.Fatalf("body %q accepted as customer %d with %d lines", body, customer, len(lines))
		}
		for _, l := range lines {
			if l.ProductID <= 0 || l.Quantity < 1 {
				t.Fatalf("body %q accepted with line %+v", body, l)
			}
		}
	})
}

// FuzzPageRequest: ids and query strings either parse into a request the
// shop accepts, or fail as a *badRequest.
func FuzzPageRequest(f *testing.F) {
	f.Add("1", "2", "reviews=3&orders_before=1700000000000000.5&fetch=concurrent")
	f.Add("0", "", "")
	f.Add("1", "-1", "reviews=101")
	f.Add("9223372036854775808", "", "reviews_before=1.0")
	f.Add("1", "", "fetch=&reviews=%zz")
	f.Fuzz(func(t *testing.T, product, customer, rawQuery string) {
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return // net/http answers 400 before our handler for such queries
		}
		req, err := pageRequest(product, customer, q)
		if err != nil {
			var bad *badRequest
			if !errors.As(err, &bad) || bad.Field == "" {
				t.Fatalf("(%q, %q, %q): error %v is not a badRequest", product, customer, rawQuery, err)
			}
			return
		}
		if req.ProductID <= 0 || req.CustomerID < 0 || req.Reviews < 0 || req.Reviews > 100 || req.Orders < 0 || req.Orders > 100 {
			t.Fatalf("(%q, %q, %q) accepted as %+v", product, customer, rawQuery, req)
		}
	})
}
