package main

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/shopdb/shopdb/pgkit/pgkittest"
	"github.com/shopdb/shopdb/schema"
)

// wideRows is a products CSV of n rows, each with a description of size
// bytes, made as it is read.
func wideRows(n, size int) io.Reader {
	readers := []io.Reader{strings.NewReader("sku,name,description,price_cents,stock\n")}
	chunk := strings.Repeat("0123456789abcdef", 4096)
	for i := range n {
		readers = append(readers, strings.NewReader(fmt.Sprintf("W-%d,Wide %d,", i, i)))
		for left := size; left > 0; left -= len(chunk) {
			readers = append(readers, strings.NewReader(chunk[:min(left, len(chunk))]))
		}
		readers = append(readers, strings.NewReader(",100,1\n"))
	}
	return io.MultiReader(readers...)
}

var peakRE = regexp.MustCompile(`peak RSS (\d+) MB`)

// Memory is bounded by bytes, not only rows: 30 rows of 10 MB, loaded with
// the default -batch (50,000 rows), stay under 200 MB of peak RSS. The load
// runs in a process of its own, the command built without the race
// detector, so that only its memory counts; it reports its peak RSS
// (VmHWM) at the end.
func TestMemoryBoundedInBytes(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 300 MB")
	}
	t.Parallel()
	dsn := pgkittest.URL(t, schema.FS())
	const rows, size = 30, 10 << 20
	bin := buildCommand(t)
	c := start(t, bin, append(os.Environ(), "DATABASE_URL="+dsn), wideRows(rows, size), "-table", "products")
	if code := c.wait(t); code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, c.stdout.String(), c.stderr.String())
	}
	out := c.stdout.String()
	m := peakRE.FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "loaded 30 rows") {
		t.Fatalf("summary %q", out)
	}
	peak, _ := strconv.Atoi(m[1])
	t.Logf("30 rows × 10 MB: peak RSS %d MB (%s)", peak, strings.TrimSpace(out))
	if peak >= 200 {
		t.Fatalf("peak RSS %d MB, want < 200 MB", peak)
	}
	if n := count(t, dsn, fmt.Sprintf("SELECT count(*) FROM products WHERE length(description) = %d", size)); n != rows {
		t.Fatalf("%d rows of %d bytes stored, want %d", n, size, rows)
	}
}
