package main

import (
	"errors"
	"strings"
	"testing"
)

// TestOrderKeysExactAndOnce: every key of the order and of its items is
// exactly one of their field names (encoding/json alone matches them
// case-insensitively) and appears once (encoding/json alone keeps the
// last); anything else is a 400 naming the field, or only "body" when the
// name is not one the answer may repeat.
func TestOrderKeysExactAndOnce(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		body, field, reason string
	}{
		{`{"customer_id":1,"customer_id":2,"items":[{"product_id":1,"quantity":1}]}`, "customer_id", "repeated"},
		{`{"customer_id":1,"items":[{"product_id":1,"quantity":1}],"items":[{"product_id":2,"quantity":1}]}`, "items", "repeated"},
		{`{"customer_id":1,"items":[{"product_id":1,"quantity":1},{"product_id":1,"quantity":1,"product_id":2}]}`, "items[1].product_id", "repeated"},
		{`{"ITEMS":[{"PRODUCT_ID":1,"QUANTITY":1}],"CUSTOMER_ID":3}`, "body", "unknown field"},
		{`{"customer_id":1,"items":[{"Product_Id":1,"quantity":1}]}`, "body", "unknown field"},
		{`{"customer_id":1,"items":[{"product_id":1,"quantity":1,"QUANTITY":7}]}`, "body", "unknown field"},
		{`{"customer_id":1,"items":[{"product_id":1,"quantity":1,"color":1}]}`, "items[0].color", "unknown field"},
		{`{"customer_id":1,"items":[{"product_id":1,"quantity":1}],"Évil\u001b[2J":1,"Évil\u001b[2J":2}`, "body", "repeated"},
	} {
		_, _, err := decodeOrder(strings.NewReader(tc.body))
		var bad *badRequest
		if !errors.As(err, &bad) || bad.Field != tc.field || !strings.Contains(bad.Reason, tc.reason) {
			t.Errorf("%s: %v, want a 400 on %s saying %q", tc.body, err, tc.field, tc.reason)
			continue
		}
		for _, echoed := range []string{"ITEMS", "Product_Id", "QUANTITY", "Évil"} {
			if strings.Contains(bad.Error(), echoed) {
				t.Errorf("%s: %q repeats the name %q", tc.body, bad.Error(), echoed)
			}
		}
	}
	// The names exactly, once each, in any order, are an order.
	if c, lines, err := decodeOrder(strings.NewReader(`{"items":[{"quantity":2,"product_id":1}],"customer_id":3}`)); err != nil || c != 3 || len(lines) != 1 || lines[0].Quantity != 2 {
		t.Errorf("a valid order: %d %v %v", c, lines, err)
	}
}
