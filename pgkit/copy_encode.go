package pgkit

// The value encoder of copyBinary (copy_binary.go): per column, one of a
// few direct encodings of PostgreSQL's binary format, chosen once from the
// column's OID when pgx's Map has its own codec for that OID (a codec a
// program registered instead is always asked), and used for the Go types
// that codec would encode the same way. Everything else goes to the Map
// as in pgx's CopyFrom, including its retry through the text format.

import (
	"encoding/binary"
	"errors"
	"math"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// copyKind is a column's direct encoding; copyPgx: none, the Map's.
type copyKind uint8

const (
	copyPgx copyKind = iota
	copyInt2
	copyInt4
	copyInt8
	copyFloat4
	copyFloat8
	copyBool
	copyText // text, varchar, bpchar, name: the string's bytes
	copyBytea
	copyTimestamptz
	copyUUID
)

// copyEncoder encodes one column's values.
type copyEncoder struct {
	kind copyKind
	oid  uint32
}

// encoderFor picks the encoder of a column of type oid.
func encoderFor(m *pgtype.Map, oid uint32) copyEncoder {
	e := copyEncoder{oid: oid}
	typ, ok := m.TypeForOID(oid)
	if !ok {
		return e
	}
	switch c := typ.Codec.(type) {
	case pgtype.Int2Codec:
		e.kind = copyInt2
	case pgtype.Int4Codec:
		e.kind = copyInt4
	case pgtype.Int8Codec:
		e.kind = copyInt8
	case pgtype.Float4Codec:
		e.kind = copyFloat4
	case pgtype.Float8Codec:
		e.kind = copyFloat8
	case pgtype.BoolCodec:
		e.kind = copyBool
	case pgtype.TextCodec:
		e.kind = copyText
	case pgtype.ByteaCodec:
		e.kind = copyBytea
	case *pgtype.TimestamptzCodec:
		if c != nil {
			e.kind = copyTimestamptz
		}
	case pgtype.UUIDCodec:
		e.kind = copyUUID
	}
	return e
}

// microsecFromUnixEpochToY2K is PostgreSQL's epoch, 2000-01-01 UTC, in
// microseconds since Unix's.
const microsecFromUnixEpochToY2K = 946684800 * 1000000

// append appends v's length and bytes (-1 for NULL) to buf.
func (e copyEncoder) append(m *pgtype.Map, buf []byte, v any) ([]byte, error) {
	if v == nil {
		return appendInt32(buf, -1), nil
	}
	switch e.kind {
	case copyInt2:
		switch x := v.(type) {
		case int16:
			return be16(buf, uint16(x)), nil
		case pgtype.Int2:
			return orNull(buf, x.Valid, uint16(x.Int16), be16), nil
		}
	case copyInt4:
		switch x := v.(type) {
		case int32:
			return be32(buf, uint32(x)), nil
		case pgtype.Int4:
			return orNull(buf, x.Valid, uint32(x.Int32), be32), nil
		}
	case copyInt8:
		switch x := v.(type) {
		case int64:
			return be64(buf, uint64(x)), nil
		case int:
			return be64(buf, uint64(x)), nil
		case pgtype.Int8:
			return orNull(buf, x.Valid, uint64(x.Int64), be64), nil
		}
	case copyFloat4:
		if x, ok := v.(float32); ok {
			return be32(buf, math.Float32bits(x)), nil
		}
	case copyFloat8:
		switch x := v.(type) {
		case float64:
			return be64(buf, math.Float64bits(x)), nil
		case pgtype.Float8:
			return orNull(buf, x.Valid, math.Float64bits(x.Float64), be64), nil
		}
	case copyBool:
		switch x := v.(type) {
		case bool:
			return appendBool(buf, x), nil
		case pgtype.Bool:
			return orNull(buf, x.Valid, x.Bool, appendBool), nil
		}
	case copyText:
		switch x := v.(type) {
		case string:
			return appendSized(buf, x)
		case pgtype.Text:
			if !x.Valid {
				return appendInt32(buf, -1), nil
			}
			return appendSized(buf, x.String)
		}
	case copyBytea:
		if x, ok := v.([]byte); ok {
			if x == nil {
				return appendInt32(buf, -1), nil
			}
			return appendSized(buf, x)
		}
	case copyTimestamptz:
		switch x := v.(type) {
		case time.Time:
			return appendTimestamptz(buf, x), nil
		case pgtype.Timestamptz:
			if x.InfinityModifier == pgtype.Finite || !x.Valid {
				return orNull(buf, x.Valid, x.Time, appendTimestamptz), nil
			}
		}
	case copyUUID:
		switch x := v.(type) {
		case [16]byte:
			return appendUUID(buf, x), nil
		case pgtype.UUID:
			return orNull(buf, x.Valid, x.Bytes, appendUUID), nil
		}
	}
	return appendByPgx(m, buf, e.oid, v)
}

// orNull appends x with enc when valid, else NULL.
func orNull[T any](buf []byte, valid bool, x T, enc func([]byte, T) []byte) []byte {
	if !valid {
		return appendInt32(buf, -1)
	}
	return enc(buf, x)
}

// be16, be32 and be64 append a fixed-size value with its length.
func be16(buf []byte, x uint16) []byte { return binary.BigEndian.AppendUint16(appendInt32(buf, 2), x) }
func be32(buf []byte, x uint32) []byte { return binary.BigEndian.AppendUint32(appendInt32(buf, 4), x) }
func be64(buf []byte, x uint64) []byte { return binary.BigEndian.AppendUint64(appendInt32(buf, 8), x) }

// appendBool appends a bool as pgx does: 1 or 0.
func appendBool(buf []byte, b bool) []byte {
	if b {
		return append(appendInt32(buf, 1), 1)
	}
	return append(appendInt32(buf, 1), 0)
}

// appendUUID appends a uuid's 16 bytes.
func appendUUID(buf []byte, u [16]byte) []byte { return append(appendInt32(buf, 16), u[:]...) }

// appendTimestamptz appends t as pgx's TimestamptzCodec does: whole
// microseconds since 2000-01-01 UTC, the sub-microsecond part dropped.
func appendTimestamptz(buf []byte, t time.Time) []byte {
	us := t.Unix()*1000000 + int64(t.Nanosecond())/1000 - microsecFromUnixEpochToY2K
	return be64(buf, uint64(us))
}

// errValueTooLong is a value of 1 GB or more, which no PostgreSQL field
// holds (the server would refuse it after reading it all).
var errValueTooLong = errors.New("pgkit: a COPY value of 1 GB or more (PostgreSQL's field limit)")

// appendSized appends the length and bytes of a string or []byte.
func appendSized[S string | []byte](buf []byte, s S) ([]byte, error) {
	if len(s) >= 1<<30 {
		return nil, errValueTooLong
	}
	return append(appendInt32(buf, int32(len(s))), s...), nil
}

// appendByPgx encodes v as pgx's CopyFrom does: by the Map, and when it
// has no binary plan for v, by parsing v's text (v itself if a string)
// as the column's type and encoding what that gives.
func appendByPgx(m *pgtype.Map, buf []byte, oid uint32, v any) ([]byte, error) {
	start := len(buf)
	buf = appendInt32(buf, -1)
	out, err := m.Encode(oid, pgtype.BinaryFormatCode, v, buf)
	if err != nil {
		var err2 error
		if out, err2 = viaText(m, buf, oid, v); err2 != nil {
			return nil, err
		}
	}
	if out == nil { // NULL: the -1 stays
		return buf, nil
	}
	binary.BigEndian.PutUint32(out[start:], uint32(len(out)-start-4))
	return out, nil
}

// viaText is pgx's second try at a value its Map cannot encode in binary.
func viaText(m *pgtype.Map, buf []byte, oid uint32, v any) ([]byte, error) {
	s, ok := v.(string)
	if !ok {
		text, err := m.Encode(oid, pgtype.TextFormatCode, v, nil)
		if err != nil {
			return nil, errors.New("not a string and cannot be encoded as text")
		}
		s = string(text)
	}
	if typ, ok := m.TypeForOID(oid); ok {
		if _, isArray := typ.Codec.(*pgtype.ArrayCodec); isArray {
			var arr pgtype.Array[any]
			if err := m.Scan(oid, pgtype.TextFormatCode, []byte(s), &arr); err == nil {
				return m.Encode(oid, pgtype.BinaryFormatCode, arr, buf)
			}
		}
	}
	var parsed any
	if err := m.Scan(oid, pgtype.TextFormatCode, []byte(s), &parsed); err != nil {
		return nil, err
	}
	return m.Encode(oid, pgtype.BinaryFormatCode, parsed, buf)
}

func appendInt16(buf []byte, n int16) []byte {
	return binary.BigEndian.AppendUint16(buf, uint16(n))
}

func appendInt32(buf []byte, n int32) []byte {
	return binary.BigEndian.AppendUint32(buf, uint32(n))
}
