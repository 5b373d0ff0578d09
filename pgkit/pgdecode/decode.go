package pgdecode

import (
	"encoding/binary"
	"math"

	"github.com/jackc/pgx/v5/pgtype"
)

// decode decodes src, one column's value (nil for NULL), as kind k into
// dest; false when dest is not k's type or the value does not decode as
// pgx would decode it without error.
func decode(k kind, src []byte, dest any, ar *arena) bool {
	switch k {
	case kInt2:
		p, ok := dest.(*int16)
		if !ok || len(src) != 2 {
			return false
		}
		*p = int16(binary.BigEndian.Uint16(src))
		return true
	case kInt4:
		p, ok := dest.(*int32)
		if !ok || len(src) != 4 {
			return false
		}
		*p = int32(binary.BigEndian.Uint32(src))
		return true
	case kInt8:
		p, ok := dest.(*int64)
		if !ok || len(src) != 8 {
			return false
		}
		*p = int64(binary.BigEndian.Uint64(src))
		return true
	case kFloat4:
		p, ok := dest.(*float32)
		if !ok || len(src) != 4 {
			return false
		}
		*p = math.Float32frombits(binary.BigEndian.Uint32(src))
		return true
	case kFloat8:
		p, ok := dest.(*float64)
		if !ok || len(src) != 8 {
			return false
		}
		*p = math.Float64frombits(binary.BigEndian.Uint64(src))
		return true
	case kBool:
		p, ok := dest.(*bool)
		if !ok || len(src) != 1 {
			return false
		}
		*p = src[0] == 1
		return true
	case kUint32:
		p, ok := dest.(*pgtype.Uint32)
		if !ok {
			return false
		}
		switch len(src) {
		case 4:
			*p = pgtype.Uint32{Uint32: binary.BigEndian.Uint32(src), Valid: true}
		case 0:
			if src != nil {
				return false
			}
			*p = pgtype.Uint32{}
		default:
			return false
		}
		return true
	case kTime:
		return scalar(src, dest, readTime)
	case kText:
		p, ok := dest.(*string)
		if !ok || src == nil {
			return false
		}
		*p = ar.str(src)
		return true
	case kBytea:
		p, ok := dest.(*[]byte)
		if !ok {
			return false
		}
		if src == nil {
			*p = nil
		} else {
			*p = readBytea(src)
		}
		return true
	case kPInt2:
		return pointer(src, dest, readInt2)
	case kPInt4:
		return pointer(src, dest, readInt4)
	case kPInt8:
		return pointer(src, dest, readInt8)
	case kPFloat4:
		return pointer(src, dest, readFloat4)
	case kPFloat8:
		return pointer(src, dest, readFloat8)
	case kPBool:
		return pointer(src, dest, readBool)
	case kPTime:
		return pointer(src, dest, readTime)
	case kPText:
		p, ok := dest.(**string)
		if !ok {
			return false
		}
		*p = nil
		if src != nil {
			v := ar.str(src)
			*p = &v
		}
		return true
	case kNInt2:
		return valid(src, dest, readInt2, func(v int16) pgtype.Int2 { return pgtype.Int2{Int16: v, Valid: true} })
	case kNInt4:
		return valid(src, dest, readInt4, func(v int32) pgtype.Int4 { return pgtype.Int4{Int32: v, Valid: true} })
	case kNInt8:
		return valid(src, dest, readInt8, func(v int64) pgtype.Int8 { return pgtype.Int8{Int64: v, Valid: true} })
	case kNFloat4:
		return valid(src, dest, readFloat4, func(v float32) pgtype.Float4 { return pgtype.Float4{Float32: v, Valid: true} })
	case kNFloat8:
		return valid(src, dest, readFloat8, func(v float64) pgtype.Float8 { return pgtype.Float8{Float64: v, Valid: true} })
	case kNBool:
		return valid(src, dest, readBool, func(v bool) pgtype.Bool { return pgtype.Bool{Bool: v, Valid: true} })
	case kNText:
		p, ok := dest.(*pgtype.Text)
		if !ok {
			return false
		}
		*p = pgtype.Text{}
		if src != nil {
			*p = pgtype.Text{String: ar.str(src), Valid: true}
		}
		return true
	case kUUID:
		return valid(src, dest, readUUID, func(v [16]byte) pgtype.UUID { return pgtype.UUID{Bytes: v, Valid: true} })
	case kTimestamptz:
		return valid(src, dest, readTimestamptz, func(v pgtype.Timestamptz) pgtype.Timestamptz { return v })
	case kDate:
		return valid(src, dest, readDate, func(v pgtype.Date) pgtype.Date { return v })
	case kInt4Array:
		return array(src, dest, readInt4Array)
	case kInt8Array:
		return array(src, dest, func(b []byte) ([]int64, bool) { return readArray(b, readInt8) })
	case kBoolArray:
		return array(src, dest, func(b []byte) ([]bool, bool) { return readArray(b, readBool) })
	case kFloat8Array:
		return array(src, dest, func(b []byte) ([]float64, bool) { return readArray(b, readFloat8) })
	case kTextArray:
		return array(src, dest, readTextArray)
	}
	return false
}

// scalar decodes a NOT NULL value into *T: NULL declines (pgx: "cannot
// scan NULL into *T").
func scalar[T any](src []byte, dest any, read func([]byte) (T, bool)) bool {
	p, ok := dest.(*T)
	if !ok || src == nil {
		return false
	}
	v, ok := read(src)
	if ok {
		*p = v
	}
	return ok
}

// pointer decodes a nullable value into **T: nil for NULL, else a new T.
func pointer[T any](src []byte, dest any, read func([]byte) (T, bool)) bool {
	p, ok := dest.(**T)
	if !ok {
		return false
	}
	if src == nil {
		*p = nil
		return true
	}
	v, ok := read(src)
	if ok {
		*p = &v
	}
	return ok
}

// valid decodes a nullable value into a pgtype struct N: its zero value
// (Valid false) for NULL, else wrap of the value.
func valid[T, N any](src []byte, dest any, read func([]byte) (T, bool), wrap func(T) N) bool {
	p, ok := dest.(*N)
	if !ok {
		return false
	}
	if src == nil {
		var zero N
		*p = zero
		return true
	}
	v, ok := read(src)
	if ok {
		*p = wrap(v)
	}
	return ok
}

// array decodes an array into *[]T: nil for NULL, as pgx does.
func array[T any](src []byte, dest any, read func([]byte) ([]T, bool)) bool {
	p, ok := dest.(*[]T)
	if !ok {
		return false
	}
	if src == nil {
		*p = nil
		return true
	}
	v, ok := read(src)
	if ok {
		*p = v
	}
	return ok
}

// readInt4Array is readArray of int4, without a call per element.
func readInt4Array(src []byte) ([]int32, bool) {
	n, body, ok := arrayBody(src)
	if !ok || len(body) != 8*n {
		return nil, false
	}
	out := make([]int32, n)
	for i := range out {
		e := body[8*i:]
		if e[0] != 0 || e[1] != 0 || e[2] != 0 || e[3] != 4 { // length 4; NULL declines
			return nil, false
		}
		out[i] = int32(uint32(e[4])<<24 | uint32(e[5])<<16 | uint32(e[6])<<8 | uint32(e[7]))
	}
	return out, true
}
