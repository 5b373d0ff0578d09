package pgdecode

import "encoding/binary"

// arrayBody parses the header of a binary array: its element count and
// the elements' bytes. Only an empty or one-dimensional array parses (a
// multi-dimensional one goes to pgx, which flattens it).
func arrayBody(src []byte) (n int, body []byte, ok bool) {
	if len(src) < 12 {
		return 0, nil, false
	}
	switch int32(binary.BigEndian.Uint32(src)) {
	case 0:
		return 0, src[12:], len(src) == 12
	case 1:
		if len(src) < 20 {
			return 0, nil, false
		}
		length := int32(binary.BigEndian.Uint32(src[12:]))
		body = src[20:]
		if length < 0 || int(length) > len(body)/4 {
			return 0, nil, false
		}
		return int(length), body, true
	}
	return 0, nil, false
}

// nextElem splits the next element off body: its bytes, and what
// follows. A NULL element does not split (none of the destinations
// takes one).
func nextElem(body []byte) (elem, rest []byte, ok bool) {
	if len(body) < 4 {
		return nil, nil, false
	}
	n := int32(binary.BigEndian.Uint32(body))
	body = body[4:]
	if n < 0 || int(n) > len(body) {
		return nil, nil, false
	}
	return body[:n], body[n:], true
}

// readArray decodes a binary one-dimensional array of non-NULL elements,
// each with elem; an empty array is an empty, non-nil slice, as pgx
// makes it.
func readArray[T any](src []byte, elem func([]byte) (T, bool)) ([]T, bool) {
	n, body, ok := arrayBody(src)
	if !ok {
		return nil, false
	}
	out := make([]T, n)
	for i := range out {
		var e []byte
		if e, body, ok = nextElem(body); !ok {
			return nil, false
		}
		if out[i], ok = elem(e); !ok {
			return nil, false
		}
	}
	return out, len(body) == 0
}

// readTextArray decodes a binary one-dimensional text array, its strings
// carved from one allocation.
func readTextArray(src []byte) ([]string, bool) {
	ar := arena{buf: make([]byte, 0, len(src))}
	return readArray(src, func(e []byte) (string, bool) { return ar.str(e), true })
}
