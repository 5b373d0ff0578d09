package pgdecode

import (
	"math"
	"testing"
)

// fuzz runs againstPgx on fuzzed values for the kinds of one helper.
func fuzz(f *testing.F, seeds [][]byte, ks ...kind) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src []byte) { againstPgx(t, src, ks...) })
}

func FuzzInt(f *testing.F) {
	fuzz(f, [][]byte{{0, 1}, be32(math.MaxInt32), be64(1 << 63), {1, 2, 3}},
		kInt2, kInt4, kInt8, kPInt2, kPInt4, kPInt8, kNInt2, kNInt4, kNInt8)
}

func FuzzFloat(f *testing.F) {
	fuzz(f, [][]byte{be32(0x7fc00000), be64(math.Float64bits(math.Inf(-1))), {1}},
		kFloat4, kFloat8, kPFloat4, kPFloat8, kNFloat4, kNFloat8)
}

func FuzzBool(f *testing.F) { fuzz(f, [][]byte{{0}, {1}, {2}, {1, 1}}, kBool, kPBool, kNBool) }

func FuzzText(f *testing.F) {
	fuzz(f, [][]byte{{}, []byte("héllo"), {0xff, 0}}, kText, kPText, kNText)
}

func FuzzBytea(f *testing.F) { fuzz(f, [][]byte{{}, {0, 1, 2}, []byte(`{"a":1}`)}, kBytea) }

func FuzzOID(f *testing.F) { fuzz(f, [][]byte{be32(math.MaxUint32), {1, 2}}, kUint32) }

func FuzzUUID(f *testing.F) { fuzz(f, [][]byte{make([]byte, 16), make([]byte, 15)}, kUUID) }

func FuzzTimestamptz(f *testing.F) {
	fuzz(f, [][]byte{be64(math.MaxInt64), be64(1 << 63), bi64(-211813488000000000), bi64(9214646400000000000), bi64(-1)},
		kTime, kPTime, kTimestamptz)
}

func FuzzDate(f *testing.F) {
	fuzz(f, [][]byte{be32(math.MaxInt32), be32(0x80000000), bi32(-2451545), bi32(-2451546), be32(2147483646)}, kDate)
}

func FuzzArray(f *testing.F) {
	fuzz(f, [][]byte{
		{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 23},
		arrayOfElems(23, be32(1), be32(0x80000000)), arrayOfElems(23, be32(1), nil),
		arrayOfElems(20, be64(7)), arrayOfElems(25, []byte("a"), []byte{}), arrayOfElems(16, []byte{1}),
		arrayOfElems(701, be64(math.Float64bits(math.NaN()))),
	}, kInt4Array, kInt8Array, kTextArray, kBoolArray, kFloat8Array)
}
