package pgkit_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/internal/testshop"
	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgerr"
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
