package main

import (
	"fmt"
	"strings"
	"testing"
)

// outside17PlainQueries is a query file of n one-line queries without any
// annotation.
func outside17PlainQueries(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "-- name: Q%d :many\nSELECT %d AS n;\n\n", i, i)
	}
	return b.String()
}

// TestOutside17ExpandLargeFileIsLinear: a query file of 10,000 one-line
// queries took seconds to expand, and an 11 MB file of 40,000 annotated
// queries took 5 minutes 52 seconds of CPU in an outside run: splitQueries
// handed each query codeOf(toks, from, to), which walked every token of
// the whole file, so expand was quadratic in the number of queries.
//
// The check does not time anything (the machine is busy): it counts the
// tokens codeOf visits for n and for 4n queries. Linear is 4x the visits
// (the quadratic walk was 16x).
func TestOutside17ExpandLargeFileIsLinear(t *testing.T) {
	visits := func(n int) int64 {
		before := codeOfVisits.Load()
		if _, err := expandFile("q.sql", "../q.sql", outside17PlainQueries(n)); err != nil {
			t.Fatal(err)
		}
		return codeOfVisits.Load() - before
	}
	small, large := visits(2500), visits(10000)
	if small == 0 || float64(large) > 4.1*float64(small) {
		t.Errorf("expand looked at %d tokens for 2,500 queries and %d for 10,000: want about 4x, not %.1fx", small, large, float64(large)/float64(small))
	}
	if perQuery := large / 10000; perQuery > 20 {
		t.Errorf("expand looked at %d tokens per one-line query (of 10,000): want about the query's own", perQuery)
	}
}

// BenchmarkExpand expands a file of 1,000 plain queries per iteration
// and reports the time per query.
func BenchmarkExpand(b *testing.B) {
	const n = 1000
	src := outside17PlainQueries(n)
	b.SetBytes(int64(len(src)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := expandFile("q.sql", "../q.sql", src); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/query")
}
