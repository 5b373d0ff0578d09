package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// shape is what checkKeys knows of a JSON value of the order: an object's
// field names (and their shapes), an array's element. The zero shape is a
// value whose keys are only checked for repeats (the typed decoding that
// follows refuses an object or array there anyway).
type shape struct {
	fields map[string]shape
	elem   *shape
}

// orderShape is the body of POST /orders: orderRequest and orderItem.
var orderShape = shape{fields: map[string]shape{
	"customer_id": {},
	"items":       {elem: &shape{fields: map[string]shape{"product_id": {}, "quantity": {}}}},
}}

// maxKeyDepth bounds how deep checkKeys follows nesting; deeper than the
// order's two levels is refused by the typed decoding anyway.
const maxKeyDepth = 64

// errStopCheck ends checkKeys without a verdict: malformed JSON, or nesting
// deeper than maxKeyDepth, is left to the typed decoding, which names it.
var errStopCheck = errors.New("stop checking keys")

// checkKeys refuses a body in which an object repeats a key, or the order
// or one of its items has a key that is not exactly one of its field
// names. encoding/json keeps the last of repeated keys and matches names
// case-insensitively, with no option to refuse either (encoding/json/v2,
// which has, is still an experiment in this Go), hence this walk over its
// tokens. A name the client chose is named only when plainFieldName
// allows it.
func checkKeys(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := walkKeys(dec, "", orderShape, 0); err != nil && !errors.Is(err, errStopCheck) {
		return err
	}
	return nil
}

// walkKeys reads one value from dec, at path, expected to be of shape sh.
func walkKeys(dec *json.Decoder, path string, sh shape, depth int) error {
	if depth > maxKeyDepth {
		return errStopCheck
	}
	tok, err := dec.Token()
	if err != nil {
		return errStopCheck
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return errStopCheck
			}
			key, ok := kt.(string)
			if !ok {
				return errStopCheck
			}
			field := key
			if path != "" {
				field = path + "." + key
			}
			if seen[key] {
				if !plainFieldName(key) {
					return &badRequest{Field: "body", Reason: "repeated key (a name of other than 1 to 32 of a-z and _, not repeated here)"}
				}
				return &badRequest{Field: field, Reason: "repeated key"}
			}
			seen[key] = true
			sub := shape{}
			if sh.fields != nil {
				if sub, ok = sh.fields[key]; !ok {
					if !plainFieldName(key) {
						return &badRequest{Field: "body", Reason: unknownOtherName}
					}
					return &badRequest{Field: field, Reason: "unknown field"}
				}
			}
			if err := walkKeys(dec, field, sub, depth+1); err != nil {
				return err
			}
		}
	case json.Delim('['):
		sub := shape{}
		if sh.elem != nil {
			sub = *sh.elem
		}
		for i := 0; dec.More(); i++ {
			if err := walkKeys(dec, fmt.Sprintf("%s[%d]", path, i), sub, depth+1); err != nil {
				return err
			}
		}
	default:
		return nil // a scalar
	}
	if _, err := dec.Token(); err != nil { // the closing } or ]
		return errStopCheck
	}
	return nil
}
