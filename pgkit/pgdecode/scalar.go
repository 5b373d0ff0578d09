package pgdecode

import (
	"bytes"
	"encoding/binary"
	"math"
	"unsafe"
)

// arena holds the short text of one row: its strings are carved from one
// allocation, written once (appends within its capacity) and never again,
// so each string stays immutable and independent of pgx's read buffer.
type arena struct{ buf []byte }

// arenaMax is the longest string carved from a row's arena; a longer one
// has an allocation of its own, as with pgx, so that a short string kept
// from a row keeps alive only the row's other short strings, never a
// large value the caller dropped.
const arenaMax = 1024

// inArena reports whether a value of n bytes goes into the arena.
func inArena(n int) bool { return n > 1 && n <= arenaMax }

// str copies src into the arena and returns it as a string.
func (a *arena) str(src []byte) string {
	if !inArena(len(src)) {
		return string(src) // Go's own, static for a single byte; or a large value's own
	}
	if cap(a.buf)-len(a.buf) < len(src) { // not sized for src: a string of its own
		return string(src)
	}
	start := len(a.buf)
	a.buf = append(a.buf, src...)
	return unsafe.String(&a.buf[start], len(src))
}

// readInt2 decodes a binary int2.
func readInt2(src []byte) (int16, bool) {
	if len(src) != 2 {
		return 0, false
	}
	return int16(binary.BigEndian.Uint16(src)), true
}

// readInt4 decodes a binary int4.
func readInt4(src []byte) (int32, bool) {
	if len(src) != 4 {
		return 0, false
	}
	return int32(binary.BigEndian.Uint32(src)), true
}

// readInt8 decodes a binary int8.
func readInt8(src []byte) (int64, bool) {
	if len(src) != 8 {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(src)), true
}

// readFloat4 decodes a binary float4 (NaN and infinities as they are).
func readFloat4(src []byte) (float32, bool) {
	if len(src) != 4 {
		return 0, false
	}
	return math.Float32frombits(binary.BigEndian.Uint32(src)), true
}

// readFloat8 decodes a binary float8 (NaN and infinities as they are).
func readFloat8(src []byte) (float64, bool) {
	if len(src) != 8 {
		return 0, false
	}
	return math.Float64frombits(binary.BigEndian.Uint64(src)), true
}

// readBool decodes a binary bool as pgx does: true is 1, any other byte
// false.
func readBool(src []byte) (bool, bool) {
	if len(src) != 1 {
		return false, false
	}
	return src[0] == 1, true
}

// readUUID decodes a binary uuid.
func readUUID(src []byte) ([16]byte, bool) {
	var u [16]byte
	if len(src) != 16 {
		return u, false
	}
	copy(u[:], src)
	return u, true
}

// readBytea copies a non-NULL binary bytea into a slice of its own.
func readBytea(src []byte) []byte {
	return bytes.Clone(src) // not zeroed before the copy, unlike make
}
