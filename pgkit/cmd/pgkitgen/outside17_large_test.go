package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestOutside17ExpandLargeFileIsLinear: a query file of 10,000 one-line
// queries (about 400 KB, no annotation at all) should expand in a blink;
// it takes seconds, and an 11 MB file of 40,000 annotated queries took 5
// minutes 52 seconds of CPU in an outside run. splitQueries hands each
// query codeOf(toks, from, to), which walks every token of the whole file
// (expand_parse.go), so expand is quadratic in the number of queries.
// 2 s is about forty times what a linear pass needs.
func TestOutside17ExpandLargeFileIsLinear(t *testing.T) {
	if testing.Short() {
		t.Skip("large input")
	}
	var b strings.Builder
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(&b, "-- name: Q%d :many\nSELECT %d AS n;\n\n", i, i)
	}
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		_, err := expandFile("q.sql", "../q.sql", b.String())
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("expanding %d bytes of 10,000 plain queries took %v, want well under 2s", b.Len(), d)
		}
	case <-time.After(2 * time.Second):
		t.Errorf("expanding %d bytes of 10,000 plain queries: still running after 2s", b.Len())
	}
}
