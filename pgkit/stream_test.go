package pgkit_test

import (
	"context"
	"errors"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/internal/testshop"
	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
	"github.com/shopdb/shopdb/schema"
)

func TestStreamMatchesSlice(t *testing.T) {
	ctx, d, q := testshop.Setup(t)
	u := testshop.Must(q.UserCreate(ctx, db.UserCreateParams{FirstName: "S", LastName: "S", Email: testshop.Ptr("s@example.com")}))(t)
	testshop.Must(q.UserCreateMany(ctx, []db.UserCreateManyParams{{FirstName: "a", LastName: "b"}, {FirstName: "c", LastName: "d"}}))(t)
	for i := range 3 {
		testshop.Must(q.OrderCreate(ctx, db.OrderCreateParams{UserID: u.UserID, Status: db.AllOrderStatusValues()[i], TotalCents: int64(i)}))(t)
	}

	all := testshop.Must(q.UserExport(ctx, 0))(t)
	var streamed []db.User
	for u, err := range q.UserExportStream(ctx, 0) {
		if err != nil {
			t.Fatal(err)
		}
		streamed = append(streamed, u)
	}
	if len(all) != 3 || !reflect.DeepEqual(all, streamed) {
		t.Fatalf("stream %+v != slice %+v", streamed, all)
	}

	window := db.OrderExportParams{Since: time.Now().Add(-time.Hour), Until: time.Now().Add(time.Hour)}
	orders := testshop.Must(q.OrderExport(ctx, window))(t)
	var streamedOrders []db.Order
	for o, err := range q.OrderExportStream(ctx, window) {
		if err != nil {
			t.Fatal(err)
		}
		streamedOrders = append(streamedOrders, o)
	}
	if len(orders) != 3 || !reflect.DeepEqual(orders, streamedOrders) {
		t.Fatalf("order stream %+v != slice %+v", streamedOrders, orders)
	}

	// A bad query yields its error once.
	n := 0
	for _, err := range pgkit.Stream[db.User](ctx, d, "SELECT * FROM no_such_table") {
		n++
		if err == nil {
			t.Fatal("want an error")
		}
	}
	if n != 1 {
		t.Fatalf("%d items from a failing query, want 1 error", n)
	}
	// A row type that does not fit the columns is an error, not a panic.
	for _, err := range pgkit.Stream[struct{ A int64 }](ctx, d, "SELECT 1::bigint, 2::bigint") {
		if err == nil {
			t.Fatal("want a scan error")
		}
	}
}

func TestStreamBreakReleasesConnection(t *testing.T) {
	ctx, d, q := testshop.Setup(t)
	if _, err := d.Exec(ctx, "INSERT INTO users (first_name, last_name) SELECT 'F', 'L' FROM generate_series(1, 1000)"); err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, err := range q.UserExportStream(ctx, 0) {
		if err != nil {
			t.Fatal(err)
		}
		seen++
		if d.Stats().InUse != 1 {
			t.Fatalf("%d connections in use while streaming, want 1", d.Stats().InUse)
		}
		if seen == 10 {
			break
		}
	}
	if n := d.Stats().InUse; n != 0 {
		t.Fatalf("%d connections still in use after break", n)
	}
	if _, err := q.UserGetByID(ctx, 1); err != nil && !errors.Is(err, pgerr.ErrNotFound) {
		t.Fatal(err)
	}
}

// TestStreamMillionRowsFlatHeap streams 1,000,000 rows and checks that the
// live Go heap does not grow with them (runtime.ReadMemStats after GC).
// TestStreamMillionRowsFlatHeap is not parallel: it reads the process's
// heap, which other tests running at the same time would move.
func TestStreamMillionRowsFlatHeap(t *testing.T) {
	ctx := context.Background()
	d := pgkittest.New(t, schema.FS())
	q := db.New(d)
	total := 1_000_000
	if testing.Short() {
		total = 100_000
	}
	// This database is the test's own: without the e-mail index the million
	// rows go in about twice as fast.
	if _, err := d.Exec(ctx, `DROP INDEX users_email_lower_key`); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(ctx, `INSERT INTO users (first_name, last_name, email)
		SELECT 'First' || g, 'Last' || g, 'user' || g || '@example.com' FROM generate_series(1, $1::int) g`, total); err != nil {
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
	for u, err := range q.UserExportStream(ctx, 0) {
		if err != nil {
			t.Fatal(err)
		}
		if u.UserID <= last {
			t.Fatalf("row %d out of order", u.UserID)
		}
		last = u.UserID
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
