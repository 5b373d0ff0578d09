package queries_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/internal/testshop"
)

// TestExportsMatchTheirStreams: UserExport and OrderExport return their
// rows in id order, from after_user_id and within [since, until), and the
// generated …Stream methods yield exactly the same rows.
func TestExportsMatchTheirStreams(t *testing.T) {
	ctx, pool, q := testshop.Setup(t)
	u := testshop.Must(q.UserCreate(ctx, db.UserCreateParams{FirstName: "S", LastName: "S", Email: testshop.Ptr("s@example.com")}))(t)
	testshop.Must(q.UserCreateMany(ctx, []db.UserCreateManyParams{{FirstName: "a", LastName: "b"}, {FirstName: "c", LastName: "d"}}))(t)
	var orders []db.Order
	for i, status := range db.AllOrderStatusValues()[:3] {
		orders = append(orders, testshop.Must(q.OrderCreate(ctx, db.OrderCreateParams{UserID: u.UserID, Status: status, TotalCents: int64(i)}))(t))
	}

	users := testshop.Must(q.UserExport(ctx, 0))(t)
	if len(users) != 3 || users[0].UserID != u.UserID || users[1].UserID >= users[2].UserID {
		t.Fatalf("UserExport(0) = %+v, want the 3 users in id order", users)
	}
	var streamed []db.User
	for u, err := range q.UserExportStream(ctx, 0) {
		if err != nil {
			t.Fatal(err)
		}
		streamed = append(streamed, u)
	}
	if !reflect.DeepEqual(users, streamed) {
		t.Fatalf("UserExportStream %+v != UserExport %+v", streamed, users)
	}
	if after := testshop.Must(q.UserExport(ctx, users[0].UserID))(t); !reflect.DeepEqual(after, users[1:]) {
		t.Fatalf("UserExport after the first = %+v, want %+v", after, users[1:])
	}

	// The window is [since, until): an order created at until is not in it.
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i, o := range orders {
		if _, err := pool.Exec(ctx, "UPDATE orders SET created_at = $1 WHERE order_id = $2", base.Add(time.Duration(i)*time.Hour), o.OrderID); err != nil {
			t.Fatal(err)
		}
	}
	window := db.OrderExportParams{Since: base, Until: base.Add(2 * time.Hour)}
	exported := testshop.Must(q.OrderExport(ctx, window))(t)
	if len(exported) != 2 || exported[0].OrderID != orders[0].OrderID || exported[1].OrderID != orders[1].OrderID {
		t.Fatalf("OrderExport = %+v, want the first two orders", exported)
	}
	var streamedOrders []db.Order
	for o, err := range q.OrderExportStream(ctx, window) {
		if err != nil {
			t.Fatal(err)
		}
		streamedOrders = append(streamedOrders, o)
	}
	if !reflect.DeepEqual(exported, streamedOrders) {
		t.Fatalf("OrderExportStream %+v != OrderExport %+v", streamedOrders, exported)
	}
}
