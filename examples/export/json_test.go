package main

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgtype"
)

// FuzzJSONEncoding: strings round-trip through appendJSONString, and any
// array text either becomes valid JSON or is refused, never a panic.
func FuzzJSONEncoding(f *testing.F) {
	for _, s := range []string{"", "plain", `q"b\`, "nl\n\t\x00\x1f", "é𝄞", `{1,2}`, `{{1,NULL},{"a b","c\"d"}}`, `{`, `{"`, `{1,`, `{}`, `{,}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if utf8.ValidString(s) {
			var back string
			if err := json.Unmarshal(appendJSONString(nil, []byte(s)), &back); err != nil || back != s {
				t.Fatalf("string %q: %v, back %q", s, err, back)
			}
		}
		for _, oid := range []uint32{pgtype.Int4ArrayOID, pgtype.TextArrayOID, pgtype.BoolArrayOID} {
			out := appendJSONValue(nil, oid, []byte(s))
			if utf8.ValidString(s) && !json.Valid(out) {
				t.Fatalf("array %q as %d: invalid JSON %s", s, oid, out)
			}
		}
	})
}
