package shop_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/internal/testshop"
	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/shop"
)

// Place an order: products locked in id order, stock checked under the lock.
func ExamplePlaceOrder() {
	d, productID, userID, done := testshop.ExampleDB(pgkit.Config{})
	defer done()
	ctx := context.Background()

	o, err := shop.PlaceOrder(ctx, d, userID, []shop.OrderLine{{ProductID: productID, Quantity: 2}}, pgkit.TxOptions{})
	fmt.Println(o.TotalCents, o.Status, err)
	_, err = shop.PlaceOrder(ctx, d, userID, []shop.OrderLine{{ProductID: productID, Quantity: 2}}, pgkit.TxOptions{})
	fmt.Println(err, errors.Is(err, shop.ErrInsufficientStock))
	// Output:
	// 24000 pending <nil>
	// place order: insufficient stock for product 1: 2 requested, 1 available true
}

// A fulfilment worker: claim paid orders nobody else holds, ship them.
func ExampleClaimOrders() {
	d, _, _, done := testshop.ExampleDB(pgkit.Config{})
	defer done()
	ctx := context.Background()

	shipped, err := shop.ClaimOrders(ctx, d, db.OrderStatusPaid, db.OrderStatusShipped, 10,
		func(ctx context.Context, q *db.Queries, orders []db.Order) error {
			fmt.Println("shipping", len(orders), "order(s)")
			return nil
		})
	fmt.Println(len(shipped), shipped[0].Status, err)
	// Output:
	// shipping 1 order(s)
	// 1 shipped <nil>
}

// The product page of the articles: product, reviews and the customer's
// orders, one connection, one round trip.
func ExampleLoadProductPage() {
	d, productID, userID, done := testshop.ExampleDB(pgkit.Config{})
	defer done()

	page, err := shop.LoadProductPage(context.Background(), d, shop.ProductPageRequest{ProductID: productID, CustomerID: userID})
	fmt.Println(page.Product.Name, len(page.Reviews), len(page.Orders), err)
	_, err = shop.LoadProductPage(context.Background(), d, shop.ProductPageRequest{ProductID: 404})
	fmt.Println(err)
	// Output:
	// Difference Engine 2 1 <nil>
	// load product page: ProductGetByID: not found
}
