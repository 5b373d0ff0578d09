package pgkit

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// pgxCopyValue is what pgx's CopyFrom sends for v in a column of type
// oid when its Map encodes v in binary: the length (-1 for NULL) and the
// bytes, straight from the Map.
func pgxCopyValue(t *testing.T, m *pgtype.Map, oid uint32, v any) []byte {
	t.Helper()
	prefix := binary.BigEndian.AppendUint32(nil, math.MaxUint32) // as pgx's CopyFrom: the Map appends after the -1
	out, err := m.Encode(oid, pgtype.BinaryFormatCode, v, prefix)
	if err != nil {
		t.Fatalf("pgx cannot encode %T %v as OID %d: %v", v, v, oid, err)
	}
	if out == nil {
		return prefix
	}
	binary.BigEndian.PutUint32(out, uint32(len(out)-4))
	return out
}

// copyEncodeCases are values of every directly encoded kind: extremes,
// NULLs, empty and large values, times before 2000 and in other zones.
func copyEncodeCases() map[uint32][]any {
	east := time.FixedZone("east", 5*3600+1800)
	big := strings.Repeat("ü", 40_000)
	return map[uint32][]any{
		pgtype.Int2OID: {int16(0), int16(-1), int16(math.MinInt16), int16(math.MaxInt16),
			pgtype.Int2{Int16: 7, Valid: true}, pgtype.Int2{}},
		pgtype.Int4OID: {int32(0), int32(-1), int32(math.MinInt32), int32(math.MaxInt32),
			pgtype.Int4{Int32: -9, Valid: true}, pgtype.Int4{}},
		pgtype.Int8OID: {int64(0), int64(math.MinInt64), int64(math.MaxInt64), int(math.MinInt64), int(42),
			pgtype.Int8{Int64: math.MaxInt64, Valid: true}, pgtype.Int8{}},
		pgtype.Float4OID: {float32(0), float32(math.Copysign(0, -1)), float32(math.NaN()), float32(math.Inf(1)),
			float32(math.Inf(-1)), float32(math.SmallestNonzeroFloat32), float32(math.MaxFloat32)},
		pgtype.Float8OID: {0.0, math.Copysign(0, -1), math.NaN(), math.Inf(1), math.Inf(-1),
			math.SmallestNonzeroFloat64, math.MaxFloat64, pgtype.Float8{Float64: 1.5, Valid: true}, pgtype.Float8{}},
		pgtype.BoolOID:    {true, false, pgtype.Bool{Bool: true, Valid: true}, pgtype.Bool{}},
		pgtype.TextOID:    {"", "a", "ü\u0000x", big, pgtype.Text{String: "t", Valid: true}, pgtype.Text{}},
		pgtype.VarcharOID: {"", "varchar", big},
		pgtype.BPCharOID:  {"abc", ""},
		pgtype.NameOID:    {"pg_type"},
		pgtype.ByteaOID:   {[]byte(nil), []byte{}, []byte{0}, []byte(big)},
		pgtype.TimestamptzOID: {time.Time{}, time.Unix(0, 0), time.Unix(-1, 1), time.Unix(-1, 999_999_999),
			time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1, 1, 1, 0, 0, 0, 1500, time.UTC),
			time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, east), time.Date(1969, 7, 20, 20, 17, 0, 123_456_789, east),
			pgtype.Timestamptz{Time: time.Unix(1e9, 5000), Valid: true}, pgtype.Timestamptz{},
			pgtype.Timestamptz{InfinityModifier: pgtype.Infinity, Valid: true},
			pgtype.Timestamptz{InfinityModifier: pgtype.NegativeInfinity, Valid: true}},
		pgtype.UUIDOID: {[16]byte{}, [16]byte{1, 2, 3, 255}, pgtype.UUID{Bytes: [16]byte{9}, Valid: true}, pgtype.UUID{}},
	}
}

func TestCopyEncodeMatchesPgx(t *testing.T) {
	m := pgtype.NewMap()
	for oid, vals := range copyEncodeCases() {
		e := encoderFor(m, oid)
		if e.kind == copyPgx {
			t.Fatalf("OID %d has no direct encoding: the test would compare pgx with itself", oid)
		}
		for _, v := range append(vals, nil) {
			got, err := e.append(m, []byte("prefix"), v)
			if err != nil {
				t.Fatalf("OID %d, %T %v: %v", oid, v, v, err)
			}
			if want := append([]byte("prefix"), pgxCopyValue(t, m, oid, v)...); !bytes.Equal(got, want) {
				t.Errorf("OID %d, %T %v:\n got % x\nwant % x", oid, v, v, head(got), head(want))
			}
		}
	}
}

// head is the start of a long encoding, for a readable failure.
func head(b []byte) []byte { return b[:min(len(b), 40)] }

// A value the direct encodings do not take (another Go type, a value
// pgx converts or refuses) is pgx's: the same bytes or the same error.
func TestCopyEncodeOtherValuesArePgxs(t *testing.T) {
	m := pgtype.NewMap()
	type named int32
	cases := []struct {
		oid uint32
		v   any
	}{
		{pgtype.Int4OID, int64(12)}, {pgtype.Int4OID, named(3)}, {pgtype.Int8OID, int32(-5)},
		{pgtype.Float8OID, float32(1.25)}, {pgtype.Int4OID, "17"}, {pgtype.NumericOID, "3.14"},
		{pgtype.TextOID, []byte("bytes")}, {pgtype.ByteaOID, `\x0102`}, {pgtype.Int4ArrayOID, []int32{1, 2}},
		{pgtype.JSONBOID, map[string]any{"a": 1}}, {pgtype.DateOID, time.Unix(86400*365, 0)},
	}
	for _, c := range cases {
		got, err := encoderFor(m, c.oid).append(m, nil, c.v)
		if err != nil {
			t.Fatalf("OID %d, %T: %v", c.oid, c.v, err)
		}
		if _, err := m.Encode(c.oid, pgtype.BinaryFormatCode, c.v, nil); err != nil {
			continue // pgx's retry through text: TestCopyFromMatchesPgx compares what the server stores
		}
		if want := pgxCopyValue(t, m, c.oid, c.v); !bytes.Equal(got, want) {
			t.Errorf("OID %d, %T %v:\n got % x\nwant % x", c.oid, c.v, c.v, head(got), head(want))
		}
	}
	// What pgx's CopyFrom refuses, this refuses with pgx's error.
	if _, err := encoderFor(m, pgtype.Int4OID).append(m, nil, struct{}{}); err == nil {
		t.Fatal("a struct{} encoded as int4")
	}
	if _, err := encoderFor(m, pgtype.Int4OID).append(m, nil, "not a number"); err == nil {
		t.Fatal(`"not a number" encoded as int4`)
	}
}

// A codec a program registers for a type is asked, not bypassed.
func TestCopyEncodeKeepsARegisteredCodec(t *testing.T) {
	m := pgtype.NewMap()
	m.RegisterType(&pgtype.Type{Name: "int4", OID: pgtype.Int4OID, Codec: pgtype.Int8Codec{}})
	if k := encoderFor(m, pgtype.Int4OID).kind; k != copyInt8 {
		t.Fatalf("int4 registered with Int8Codec: kind %d, want the Int8Codec's", k)
	}
	m.RegisterType(&pgtype.Type{Name: "int4", OID: pgtype.Int4OID, Codec: &pgtype.EnumCodec{}})
	if k := encoderFor(m, pgtype.Int4OID).kind; k != copyPgx {
		t.Fatalf("int4 registered with EnumCodec: kind %d, want the Map's", k)
	}
	if k := encoderFor(m, 999_999).kind; k != copyPgx {
		t.Fatalf("an unknown OID: kind %d, want the Map's", k)
	}
}

func FuzzCopyEncodeMatchesPgx(f *testing.F) {
	f.Add(int64(0), 0.0, "", []byte(nil), int64(0))
	f.Add(int64(math.MinInt64), math.Inf(-1), "ü", []byte{0, 1}, int64(-1))
	f.Fuzz(func(t *testing.T, n int64, x float64, s string, b []byte, nanos int64) {
		m := pgtype.NewMap()
		for _, c := range []struct {
			oid uint32
			v   any
		}{
			{pgtype.Int2OID, int16(n)}, {pgtype.Int4OID, int32(n)}, {pgtype.Int8OID, n}, {pgtype.Int8OID, int(n)},
			{pgtype.Float4OID, float32(x)}, {pgtype.Float8OID, x}, {pgtype.BoolOID, n%2 == 0},
			{pgtype.TextOID, s}, {pgtype.ByteaOID, b}, {pgtype.TimestamptzOID, time.Unix(0, nanos)},
			{pgtype.TimestamptzOID, time.Unix(n%(400*365*86400), nanos%1e9)}, {pgtype.UUIDOID, [16]byte([]byte(s + strings.Repeat("x", 16))[:16])},
		} {
			got, err := encoderFor(m, c.oid).append(m, nil, c.v)
			if err != nil {
				t.Fatalf("OID %d, %T %v: %v", c.oid, c.v, c.v, err)
			}
			if want := pgxCopyValue(t, m, c.oid, c.v); !bytes.Equal(got, want) {
				t.Fatalf("OID %d, %T %v:\n got % x\nwant % x", c.oid, c.v, c.v, head(got), head(want))
			}
		}
	})
}
