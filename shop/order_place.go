package shop

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// OrderLine is one product and quantity of an order to place.
type OrderLine struct {
	ProductID int64
	Quantity  int32
}

// PlacedOrder is an order PlaceOrder stored, with its lines (one per
// product, quantities merged), as committed: no second query, so no second
// chance to fail after the order is already stored.
type PlacedOrder struct {
	db.Order
	Items []db.OrderItem `json:"items"`
}

// PlaceOrder creates a pending order for userID in one transaction on src
// (a pool, or an open transaction, where it runs in a savepoint): it locks
// the products with SELECT … FOR UPDATE in product_id order, checks and
// takes their stock, and records the order at the current prices. Because
// every order locks in the same order, concurrent orders queue behind each
// other instead of deadlocking, and because the stock is checked under the
// lock, nothing is oversold. Lines for the same product are merged.
//
// It fails, storing nothing, with ErrEmptyOrder; *InvalidQuantityError for
// a quantity below 1 or a merged quantity above the schema's integer;
// *InsufficientStockError; *UnknownProductError; and ErrUnknownCustomer
// (errors.Is). opts are pgkit.WithTxOptions' (the zero value is fine; set
// OnRetry to count retries).
func PlaceOrder(ctx context.Context, src pgkit.Source, userID int64, lines []OrderLine, opts pgkit.TxOptions) (PlacedOrder, error) {
	ids, qty, err := mergeLines(lines)
	if err != nil {
		return PlacedOrder{}, fmt.Errorf("place order: %w", err)
	}
	var order PlacedOrder
	err = pgkit.WithTxOptions(ctx, src, db.New, opts, func(q *db.Queries) error {
		locked, err := q.ProductLockForOrder(ctx, ids)
		if err != nil {
			return err
		}
		if len(locked) != len(ids) {
			for _, id := range ids {
				if !slices.ContainsFunc(locked, func(p db.ProductLockForOrderRow) bool { return p.ProductID == id }) {
					return &UnknownProductError{ProductID: id}
				}
			}
		}
		var total int64
		for i, p := range locked { // same order as ids: both sorted by product_id
			if p.Stock < qty[i] {
				return &InsufficientStockError{ProductID: p.ProductID, Requested: qty[i], Available: p.Stock}
			}
			total += p.PriceCents * int64(qty[i])
		}
		if _, err := q.ProductTakeStock(ctx, db.ProductTakeStockParams{ProductIds: ids, Quantities: qty}); err != nil {
			return err
		}
		order.Order, err = q.OrderCreate(ctx, db.OrderCreateParams{UserID: userID, Status: db.OrderStatusPending, TotalCents: total})
		if ce, ok := pgerr.AsConstraint(err); ok && ce.Constraint == ConstraintOrderUser {
			return &unknownCustomerError{userID: userID, err: err}
		}
		if err != nil {
			return err
		}
		items := make([]db.OrderItemCreateParams, len(ids))
		order.Items = make([]db.OrderItem, len(ids))
		for i, p := range locked {
			items[i] = db.OrderItemCreateParams{OrderID: order.OrderID, ProductID: p.ProductID, Quantity: qty[i], UnitPriceCents: p.PriceCents}
			order.Items[i] = db.OrderItem(items[i])
		}
		var itemErr error
		q.OrderItemCreate(ctx, items).Exec(func(_ int, err error) {
			if err != nil && itemErr == nil {
				itemErr = err
			}
		})
		return itemErr
	})
	if err != nil {
		return PlacedOrder{}, fmt.Errorf("place order: %w", err)
	}
	return order, nil
}

// mergeLines validates lines and returns product ids in ascending order with
// their summed quantities. The sum is taken in int64 and checked against
// the schema's integer, so that lines whose quantities overflow int32
// together are refused rather than wrapped around.
func mergeLines(lines []OrderLine) ([]int64, []int32, error) {
	if len(lines) == 0 {
		return nil, nil, ErrEmptyOrder
	}
	sum := make(map[int64]int64, len(lines))
	for i, l := range lines {
		if l.Quantity < 1 {
			return nil, nil, &InvalidQuantityError{Line: i + 1, ProductID: l.ProductID, Quantity: int64(l.Quantity), Reason: "want at least 1"}
		}
		sum[l.ProductID] += int64(l.Quantity)
	}
	ids := make([]int64, 0, len(sum))
	for id, n := range sum {
		if n > math.MaxInt32 {
			return nil, nil, &InvalidQuantityError{ProductID: id, Quantity: n, Reason: fmt.Sprintf("more than %d", math.MaxInt32)}
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	qty := make([]int32, len(ids))
	for i, id := range ids {
		qty[i] = int32(sum[id])
	}
	return ids, qty, nil
}
