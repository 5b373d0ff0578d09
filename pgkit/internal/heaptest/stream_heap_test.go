// Package heaptest holds the one test that reads the process's heap: a
// test binary of its own, so that no other test moves what it measures.
package heaptest_test

import (
	"context"
	"os"
	"runtime"
	"testing"

	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

func TestMain(m *testing.M) { os.Exit(pgkittest.Run(m)) }

// TestStreamMillionRowsFlatHeap streams 1,000,000 rows and checks that the
// live Go heap does not grow with them (runtime.ReadMemStats after GC).
// It is the only test of its package, so that the process's heap it reads
// is moved by nothing else, while the other tests of pgkit run in their own
// process at the same time.
func TestStreamMillionRowsFlatHeap(t *testing.T) {
	ctx := context.Background()
	d := pgkittest.New(t, kitdb.Migrations())
	q := kitdb.New(d)
	total := 1_000_000
	if testing.Short() {
		total = 100_000
	}
	// This database is the test's own: without the e-mail index the million
	// rows go in about twice as fast.
	if _, err := d.Exec(ctx, `DROP INDEX accounts_email_lower_key`); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(ctx, `INSERT INTO accounts (name, team, email)
		SELECT 'Name' || g, 'Team' || g, 'account' || g || '@example.com' FROM generate_series(1, $1::int) g`, total); err != nil {
		t.Fatal(err)
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	base := heap()
	var peak uint64
	n := 0
	var last int64
	for a, err := range q.AccountExportStream(ctx, 0) {
		if err != nil {
			t.Fatal(err)
		}
		if a.AccountID <= last {
			t.Fatalf("row %d out of order", a.AccountID)
		}
		last = a.AccountID
		n++
		if n%(total/10) == 0 {
			peak = max(peak, heap())
		}
	}
	if n != total {
		t.Fatalf("streamed %d rows, want %d", n, total)
	}
	growth := int64(peak) - int64(base)
	t.Logf("live heap: %d KiB before, %d KiB at peak while streaming %d rows", base/1024, peak/1024, n)
	// The rows themselves are over 100 MB; holding them would show here.
	if growth > 8<<20 {
		t.Fatalf("live heap grew by %d KiB while streaming", growth/1024)
	}
}
