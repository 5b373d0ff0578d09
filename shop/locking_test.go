package shop_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/internal/testshop"
	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
	"github.com/shopdb/shopdb/schema"
	"github.com/shopdb/shopdb/shop"
)

// TestPlaceOrderUnderContention: 200 concurrent customers order from 5
// products with little stock. Nothing is oversold, no deadlock reaches a
// caller, and every order reported placed is stored with its lines.
func TestPlaceOrderUnderContention(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	d := pgkittest.NewWithConfig(t, schema.FS(), pgkit.Config{MaxConns: 10, AcquireTimeout: time.Minute})
	q := db.New(d)
	const customers, initialStock = 200, 15
	var products []db.Product
	for i := range 5 {
		products = append(products, testshop.Must(q.ProductCreate(ctx, db.ProductCreateParams{
			Sku: fmt.Sprint("HOT-", i), Name: "Hot", PriceCents: int64(100 * (i + 1)), Stock: initialStock,
		}))(t))
	}
	user := testshop.Must(q.UserCreate(ctx, db.UserCreateParams{FirstName: "Many", LastName: "Orders"}))(t)

	type placed struct {
		order db.Order
		lines map[int64]int32
	}
	var mu sync.Mutex
	var ok []placed
	short := 0
	var wg sync.WaitGroup
	var deadlocks atomic.Int64 // retried by WithTx, so invisible to callers: count them
	errs := make(chan error, customers)
	for c := range customers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(c), 7))
			var lines []shop.OrderLine
			want := map[int64]int32{}
			for range 1 + r.IntN(3) { // unsorted, maybe repeated products
				p := products[r.IntN(len(products))]
				n := int32(1 + r.IntN(3))
				lines = append(lines, shop.OrderLine{ProductID: p.ProductID, Quantity: n})
				want[p.ProductID] += n
			}
			o, err := shop.PlaceOrder(ctx, d, user.UserID, lines, pgkit.TxOptions{OnRetry: func(_ int, err error) {
				if pgerr.IsDeadlock(err) {
					deadlocks.Add(1)
				}
			}})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok = append(ok, placed{o.Order, want})
			case errors.Is(err, shop.ErrInsufficientStock):
				short++
			default:
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("an order failed with %v (deadlock: %v); want success or insufficient stock", err, pgerr.IsDeadlock(err))
	}
	if n := deadlocks.Load(); n != 0 {
		t.Errorf("%d deadlocks happened (and were retried): the locks are not taken in one order", n)
	}
	if len(ok) == 0 || short == 0 {
		t.Fatalf("%d placed, %d short: want both to happen with this much demand", len(ok), short)
	}

	sold := map[int64]int32{}
	for _, p := range ok {
		items := testshop.Must(q.OrderItemListByOrder(ctx, p.order.OrderID))(t)
		if len(items) != len(p.lines) {
			t.Fatalf("order %d has %d lines, want %d", p.order.OrderID, len(items), len(p.lines))
		}
		var total int64
		for _, it := range items {
			if it.Quantity != p.lines[it.ProductID] {
				t.Fatalf("order %d: product %d quantity %d, want %d", p.order.OrderID, it.ProductID, it.Quantity, p.lines[it.ProductID])
			}
			sold[it.ProductID] += it.Quantity
			total += int64(it.Quantity) * it.UnitPriceCents
		}
		if total != p.order.TotalCents {
			t.Fatalf("order %d total %d, lines add up to %d", p.order.OrderID, p.order.TotalCents, total)
		}
	}
	stored := testshop.Must(q.OrderListByUser(ctx, db.OrderListByUserParams{UserID: user.UserID, Max: 1000}))(t)
	if len(stored) != len(ok) {
		t.Fatalf("%d orders stored, %d reported placed", len(stored), len(ok))
	}
	for _, p := range products {
		left := testshop.Must(q.ProductGetByID(ctx, p.ProductID))(t).Stock
		if left < 0 || left+sold[p.ProductID] != initialStock {
			t.Errorf("product %d: %d left + %d sold != %d", p.ProductID, left, sold[p.ProductID], initialStock)
		}
	}
	t.Logf("%d orders placed, %d refused for stock", len(ok), short)
}

func TestPlaceOrderBadInput(t *testing.T) {
	ctx, d, q := testshop.Setup(t)
	u := testshop.Must(q.UserCreate(ctx, db.UserCreateParams{FirstName: "B", LastName: "I"}))(t)
	p := testshop.Must(q.ProductCreate(ctx, db.ProductCreateParams{Sku: "B", Name: "B", PriceCents: 5, Stock: 2}))(t)
	for _, tc := range []struct {
		lines []shop.OrderLine
		want  string
		is    error
		user  int64
	}{
		{nil, "at least one line", shop.ErrEmptyOrder, 0},
		{[]shop.OrderLine{{p.ProductID, 1}, {p.ProductID, 0}}, "line 2 (product", shop.ErrInvalidQuantity, 0},
		{[]shop.OrderLine{{p.ProductID, 1}, {987654, 1}}, "unknown product 987654", shop.ErrUnknownProduct, 0},
		{[]shop.OrderLine{{p.ProductID, 1}, {987654, 1}}, "unknown product 987654", pgerr.ErrNotFound, 0},
		{[]shop.OrderLine{{p.ProductID, 2}, {p.ProductID, 1}}, "3 requested, 2 available", shop.ErrInsufficientStock, 0},
		// Merged quantities that overflow int32 together: 1 + 2147483647 + 2147483647 + 3
		// wraps around to 4 in int32; it must be refused, not sold as 4.
		{[]shop.OrderLine{{p.ProductID, 1}, {p.ProductID, math.MaxInt32}, {p.ProductID, math.MaxInt32}, {p.ProductID, 3}},
			"total quantity 4294967298", shop.ErrInvalidQuantity, 0},
		{[]shop.OrderLine{{p.ProductID, 1}}, "unknown customer 555555", shop.ErrUnknownCustomer, 555555},
	} {
		user := u.UserID
		if tc.user != 0 {
			user = tc.user
		}
		_, err := shop.PlaceOrder(ctx, d, user, tc.lines, pgkit.TxOptions{})
		if err == nil || !strings.Contains(err.Error(), tc.want) || (tc.is != nil && !errors.Is(err, tc.is)) {
			t.Errorf("lines %v: error %v, want %q", tc.lines, err, tc.want)
		}
	}
	if got := testshop.Must(q.ProductGetByID(ctx, p.ProductID))(t); got.Stock != 2 {
		t.Fatalf("stock %d after refused orders, want 2", got.Stock)
	}
	if orders := testshop.Must(q.OrderListByUser(ctx, db.OrderListByUserParams{UserID: u.UserID, Max: 10}))(t); len(orders) != 0 {
		t.Fatalf("%d orders stored from refused input", len(orders))
	}
	// The building blocks, called directly.
	locked := testshop.Must(q.ProductLockForOrder(ctx, []int64{p.ProductID, -1}))(t)
	if len(locked) != 1 || locked[0].Stock != 2 {
		t.Fatalf("ProductLockForOrder = %+v", locked)
	}
	if n := testshop.Must(q.ProductTakeStock(ctx, db.ProductTakeStockParams{ProductIds: []int64{p.ProductID}, Quantities: []int32{2}}))(t); n != 1 {
		t.Fatalf("ProductTakeStock affected %d rows", n)
	}
	_, err := q.ProductTakeStock(ctx, db.ProductTakeStockParams{ProductIds: []int64{p.ProductID}, Quantities: []int32{1}})
	if ce, ok := pgerr.AsConstraint(err); !ok || ce.Constraint != "products_stock_check" {
		t.Fatalf("taking from empty stock: %v", err)
	}
}

func TestOrderClaimSkipsLockedRows(t *testing.T) {
	ctx, d, q := testshop.Setup(t)
	u := testshop.Must(q.UserCreate(ctx, db.UserCreateParams{FirstName: "Q", LastName: "Q"}))(t)
	for range 4 {
		testshop.Must(q.OrderCreate(ctx, db.OrderCreateParams{UserID: u.UserID, Status: db.OrderStatusPaid}))(t)
	}
	err := pgkit.WithTx(ctx, d, db.New, func(first *db.Queries) error {
		a, err := first.OrderClaimByStatus(ctx, db.OrderClaimByStatusParams{Status: db.OrderStatusPaid, Max: 2})
		if err != nil {
			return err
		}
		// A second transaction, while the first holds its rows.
		return pgkit.WithTx(ctx, d, db.New, func(second *db.Queries) error {
			b, err := second.OrderClaimByStatus(ctx, db.OrderClaimByStatusParams{Status: db.OrderStatusPaid, Max: 10})
			if err != nil {
				return err
			}
			if len(a) != 2 || len(b) != 2 || a[1].OrderID >= b[0].OrderID {
				return fmt.Errorf("first claimed %v, second %v: want 2 and the other 2", a, b)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestClaimOrdersWorkers: several workers drain a queue; each order is
// handled by exactly one of them.
func TestClaimOrdersWorkers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := pgkittest.NewWithConfig(t, schema.FS(), pgkit.Config{MaxConns: 8})
	q := db.New(d)
	u := testshop.Must(q.UserCreate(ctx, db.UserCreateParams{FirstName: "W", LastName: "W"}))(t)
	const orders = 60
	for range orders {
		testshop.Must(q.OrderCreate(ctx, db.OrderCreateParams{UserID: u.UserID, Status: db.OrderStatusPaid}))(t)
	}
	var mu sync.Mutex
	handled := map[int64]int{}
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := shop.ClaimOrders(ctx, d, db.OrderStatusPaid, db.OrderStatusShipped, 4,
					func(ctx context.Context, q *db.Queries, os []db.Order) error {
						time.Sleep(5 * time.Millisecond) // "ship" while holding the rows
						mu.Lock()
						defer mu.Unlock()
						for _, o := range os {
							handled[o.OrderID]++
						}
						return nil
					})
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(handled) != orders {
		t.Fatalf("%d orders handled, want %d", len(handled), orders)
	}
	for id, n := range handled {
		if n != 1 {
			t.Fatalf("order %d handled %d times", id, n)
		}
	}
	if left := testshop.Must(q.OrderListByStatus(ctx, db.OrderListByStatusParams{Status: db.OrderStatusPaid, Max: 100}))(t); len(left) != 0 {
		t.Fatalf("%d orders still paid", len(left))
	}
}

// TestPlacedOrderItemsAreStored: the lines PlaceOrder returns are the ones
// it committed (merged per product, at the locked price).
func TestPlacedOrderItemsAreStored(t *testing.T) {
	ctx, d, q := testshop.Setup(t)
	u := testshop.Must(q.UserCreate(ctx, db.UserCreateParams{FirstName: "I", LastName: "S"}))(t)
	a := testshop.Must(q.ProductCreate(ctx, db.ProductCreateParams{Sku: "A", Name: "A", PriceCents: 250, Stock: 9}))(t)
	b := testshop.Must(q.ProductCreate(ctx, db.ProductCreateParams{Sku: "B", Name: "B", PriceCents: 100, Stock: 9}))(t)
	o, err := shop.PlaceOrder(ctx, d, u.UserID, []shop.OrderLine{{b.ProductID, 1}, {a.ProductID, 2}, {b.ProductID, 3}}, pgkit.TxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stored := testshop.Must(q.OrderItemListByOrder(ctx, o.OrderID))(t)
	if !reflect.DeepEqual(o.Items, stored) || len(stored) != 2 || o.TotalCents != 2*250+4*100 {
		t.Fatalf("returned %+v (total %d), stored %+v", o.Items, o.TotalCents, stored)
	}
}
