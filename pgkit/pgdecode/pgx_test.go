package pgdecode

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"
	"unsafe"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// sample is, per kind, a destination of its type and the OID of a column
// it decodes.
var samples = []struct {
	k    kind
	dest any
	oid  uint32
	text bool // in text format, not binary
}{
	{kInt2, new(int16), pgtype.Int2OID, false}, {kInt4, new(int32), pgtype.Int4OID, false}, {kInt8, new(int64), pgtype.Int8OID, false},
	{kFloat4, new(float32), pgtype.Float4OID, false}, {kFloat8, new(float64), pgtype.Float8OID, false}, {kBool, new(bool), pgtype.BoolOID, false},
	{kText, new(string), pgtype.TextOID, false}, {kText, new(string), pgtype.NameOID, false}, {kText, new(string), pgtype.BPCharOID, false},
	{kBytea, new([]byte), pgtype.ByteaOID, false}, {kTime, new(time.Time), pgtype.TimestamptzOID, false},
	{kPInt2, new(*int16), pgtype.Int2OID, false}, {kPInt4, new(*int32), pgtype.Int4OID, false}, {kPInt8, new(*int64), pgtype.Int8OID, false},
	{kPFloat4, new(*float32), pgtype.Float4OID, false}, {kPFloat8, new(*float64), pgtype.Float8OID, false}, {kPBool, new(*bool), pgtype.BoolOID, false},
	{kPText, new(*string), pgtype.VarcharOID, false}, {kPTime, new(*time.Time), pgtype.TimestamptzOID, false},
	{kNInt2, new(pgtype.Int2), pgtype.Int2OID, false}, {kNInt4, new(pgtype.Int4), pgtype.Int4OID, false}, {kNInt8, new(pgtype.Int8), pgtype.Int8OID, false},
	{kNFloat4, new(pgtype.Float4), pgtype.Float4OID, false}, {kNFloat8, new(pgtype.Float8), pgtype.Float8OID, false},
	{kNBool, new(pgtype.Bool), pgtype.BoolOID, false}, {kNText, new(pgtype.Text), pgtype.TextOID, false},
	{kUint32, new(pgtype.Uint32), pgtype.OIDOID, false}, {kUUID, new(pgtype.UUID), pgtype.UUIDOID, false},
	{kTimestamptz, new(pgtype.Timestamptz), pgtype.TimestamptzOID, false}, {kDate, new(pgtype.Date), pgtype.DateOID, false},
	{kInt4Array, new([]int32), pgtype.Int4ArrayOID, false}, {kInt8Array, new([]int64), pgtype.Int8ArrayOID, false},
	{kTextArray, new([]string), pgtype.TextArrayOID, false}, {kTextArray, new([]string), pgtype.VarcharArrayOID, false},
	{kBoolArray, new([]bool), pgtype.BoolArrayOID, false}, {kFloat8Array, new([]float64), pgtype.Float8ArrayOID, false},
	{kBytea, new([]byte), pgtype.JSONOID, true}, {kBytea, new([]byte), pgtype.JSONBOID, true},
	{kText, new(string), pgtype.JSONOID, true}, {kText, new(string), pgtype.JSONBOID, true},
	{kText, new(string), pgtype.TextOID, true}, {kNText, new(pgtype.Text), pgtype.VarcharOID, true},
}

// againstPgx decodes src as each sample of the kinds ks, natively and
// with pgx's scan plan, and fails when the native decode succeeds where
// pgx's fails or gives another value.
func againstPgx(t *testing.T, src []byte, ks ...kind) {
	t.Helper()
	tm := pgtype.NewMap()
	for _, s := range samples {
		if !inKinds(s.k, ks) {
			continue
		}
		if kindOf(s.dest) != s.k {
			t.Fatalf("kindOf(%T) = %d, want %d", s.dest, kindOf(s.dest), s.k)
		}
		typ := reflect.TypeOf(s.dest).Elem()
		ours := reflect.New(typ).Interface()
		theirs := reflect.New(typ).Interface()
		var ar arena
		ar.buf = make([]byte, 0, len(src))
		ok := decode(s.k, src, ours, &ar)
		format := int16(pgtype.BinaryFormatCode)
		if s.text {
			format = pgtype.TextFormatCode
		}
		if !fits(s.k, pgconn.FieldDescription{DataTypeOID: s.oid, Format: format}, tm) {
			t.Fatalf("%T from OID %d in format %d: the sample does not fit", s.dest, s.oid, format)
		}
		err := tm.PlanScan(s.oid, format, theirs).Scan(src, theirs)
		if ok && err != nil {
			t.Fatalf("%T from OID %d (format %d), % x: decoded %v, pgx failed: %v", s.dest, s.oid, format, src, reflect.ValueOf(ours).Elem(), err)
		}
		if ok && !equal(ours, theirs) {
			t.Fatalf("%T from OID %d, % x: decoded %#v, pgx %#v", s.dest, s.oid, src, reflect.ValueOf(ours).Elem(), reflect.ValueOf(theirs).Elem())
		}
		if !ok && err == nil && src != nil && knownGood(s.k) {
			t.Errorf("%T from OID %d, % x: declined what pgx decodes", s.dest, s.oid, src)
		}
	}
}

// knownGood: kinds that decline nothing pgx decodes (arrays decline
// multi-dimensional ones).
func knownGood(k kind) bool { return k < kInt4Array }

// equal is reflect.DeepEqual with NaN equal to NaN.
func equal(a, b any) bool {
	if reflect.DeepEqual(a, b) {
		return true
	}
	if x, ok := a.(*[]float64); ok { // NaN elements
		return fmt.Sprintf("%#v", *x) == fmt.Sprintf("%#v", *b.(*[]float64))
	}
	fa, okA := floatOf(a)
	fb, okB := floatOf(b)
	return okA && okB && math.IsNaN(fa) && math.IsNaN(fb)
}

func floatOf(x any) (float64, bool) {
	switch v := x.(type) {
	case *float32:
		return float64(*v), true
	case *float64:
		return *v, true
	case **float32:
		if *v != nil {
			return float64(**v), true
		}
	case **float64:
		if *v != nil {
			return **v, true
		}
	case *pgtype.Float4:
		return float64(v.Float32), v.Valid
	case *pgtype.Float8:
		return v.Float64, v.Valid
	}
	return 0, false
}

func inKinds(k kind, ks []kind) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}

func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func bi64(v int64) []byte  { return be64(uint64(v)) }
func bi32(v int32) []byte  { return be32(uint32(v)) }
func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// arrayOfElems is a binary one-dimensional array of elems (nil: NULL).
func arrayOfElems(oid uint32, elems ...[]byte) []byte {
	b := be32(1)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint32(b, oid)
	b = binary.BigEndian.AppendUint32(b, uint32(len(elems)))
	b = binary.BigEndian.AppendUint32(b, 1)
	for _, e := range elems {
		if e == nil {
			b = binary.BigEndian.AppendUint32(b, math.MaxUint32)
			continue
		}
		b = binary.BigEndian.AppendUint32(b, uint32(len(e)))
		b = append(b, e...)
	}
	return b
}

var allKinds = func() []kind {
	var ks []kind
	for k := kInt2; k <= kFloat8Array; k++ {
		ks = append(ks, k)
	}
	return ks
}()

func TestAgainstPgx(t *testing.T) {
	inputs := [][]byte{
		nil, {}, {0}, {1}, {2}, {0, 1}, {0x80, 0}, {0xff, 0xff},
		be32(0), be32(math.MaxInt32), be32(0x80000000), be32(0x7fc00000), be32(0x7f800000), be32(0xff800000),
		be64(0), be64(math.MaxInt64), be64(1 << 63), be64(math.Float64bits(math.NaN())), be64(math.Float64bits(math.Inf(1))),
		be64(math.Float64bits(math.Inf(-1))), bi64(-1), bi64(-211813488000000000),
		bi64(9214646400000000000), bi64(-63082281600000000),
		bi32(-2451545), bi32(-2451546), be32(2147483646), be32(2147483647), be32(0x80000000),
		[]byte("hello"), []byte("héllo wörld"), make([]byte, 16), []byte("0123456789abcdef"),
		{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 23}, // empty array
		{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 23, 0},
		arrayOfElems(23, be32(1), be32(0x80000000)), arrayOfElems(23, be32(1), nil), arrayOfElems(23, be32(1), []byte{1}),
		arrayOfElems(20, be64(1), be64(math.MaxInt64)), arrayOfElems(25, []byte("a"), []byte{}, []byte("ccc")),
		arrayOfElems(25, []byte("a"), nil), arrayOfElems(16, []byte{1}, []byte{0}, []byte{7}),
		arrayOfElems(701, be64(math.Float64bits(math.NaN()))), arrayOfElems(23),
		append(arrayOfElems(23, be32(5)), 0),
	}
	for _, in := range inputs {
		againstPgx(t, in, allKinds...)
	}
}

func TestTimeBounds(t *testing.T) {
	for _, c := range []struct {
		got  int64
		want time.Time
	}{
		{minDateTimeUnix, time.Date(-4713, 11, 24, 0, 0, 0, 0, time.UTC)},
		{endDateUnix, time.Date(5874898, 1, 1, 0, 0, 0, 0, time.UTC)},
		{endTimestampUnix, time.Date(294277, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if c.got != c.want.Unix() {
			t.Errorf("bound %d, want %d (%v)", c.got, c.want.Unix(), c.want)
		}
	}
}

func TestArenaStringsIndependent(t *testing.T) {
	src := []byte("abcdef")
	ar := arena{buf: make([]byte, 0, 6)}
	a, b := ar.str(src[:3]), ar.str(src[3:])
	src[0], src[3] = 'X', 'Y'
	if a != "abc" || b != "def" {
		t.Fatalf("strings changed with their source: %q %q", a, b)
	}
	if c := ar.str([]byte("more")); c != "more" { // beyond the arena's size: a string of its own
		t.Fatalf("got %q", c)
	}
}

// TestArenaHoldsOnlyShortStrings: a value longer than arenaMax gets an
// allocation of its own, so that a short string kept from a row does not
// keep a large one alive; shorter ones share the arena.
func TestArenaHoldsOnlyShortStrings(t *testing.T) {
	short, long := bytes.Repeat([]byte("s"), arenaMax), bytes.Repeat([]byte("l"), arenaMax+1)
	ar := arena{buf: make([]byte, 0, 2*arenaMax+1)}
	s, l := ar.str(short), ar.str(long)
	if s != string(short) || l != string(long) {
		t.Fatal("strings differ from their source")
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(ar.buf[:cap(ar.buf)])))
	in := func(x string) bool {
		p := uintptr(unsafe.Pointer(unsafe.StringData(x)))
		return p >= base && p < base+uintptr(cap(ar.buf))
	}
	if !in(s) {
		t.Errorf("a %d-byte string is not in the arena", len(s))
	}
	if in(l) {
		t.Errorf("a %d-byte string is in the arena: a short string kept would keep it alive", len(l))
	}
}

// TestPgxWrappersAreNewMaps: pgxWrappers accepts the scan-plan wrappers
// of a map pgx makes (so that a pgx upgrade that changes them fails here,
// not by silently leaving every result to pgx) and refuses a map whose
// wrappers a program changed.
func TestPgxWrappersAreNewMaps(t *testing.T) {
	tm := pgtype.NewMap()
	if !pgxWrappers(tm) {
		t.Fatal("pgtype.NewMap's scan-plan wrappers are not the list pgxWrappers holds")
	}
	utc := func(target any) (plan pgtype.WrappedScanPlanNextSetter, next any, ok bool) { return nil, nil, false }
	tm.TryWrapScanPlanFuncs = append([]pgtype.TryWrapScanPlanFunc{utc}, tm.TryWrapScanPlanFuncs...)
	if pgxWrappers(tm) {
		t.Error("a map with a wrapper prepended is taken for pgx's own")
	}
	tm.TryWrapScanPlanFuncs = tm.TryWrapScanPlanFuncs[1:]
	tm.TryWrapScanPlanFuncs[0] = utc
	if pgxWrappers(tm) {
		t.Error("a map with a wrapper replaced is taken for pgx's own")
	}
}
