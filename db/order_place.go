package db

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// ErrInsufficientStock is matched (errors.Is) by *InsufficientStockError.
var ErrInsufficientStock = errors.New("insufficient stock")

// InsufficientStockError says which product of an order ran short.
type InsufficientStockError struct {
	ProductID int64
	Requested int32
	Available int32
}

// Error names the product and the quantities.
func (e *InsufficientStockError) Error() string {
	return fmt.Sprintf("%v for product %d: %d requested, %d available", ErrInsufficientStock, e.ProductID, e.Requested, e.Available)
}

// Is matches ErrInsufficientStock.
func (e *InsufficientStockError) Is(target error) bool { return target == ErrInsufficientStock }

// OrderLine is one product and quantity of an order to place.
type OrderLine struct {
	ProductID int64
	Quantity  int32
}

// PlaceOrder creates a pending order for userID in one transaction: it locks
// the products with SELECT … FOR UPDATE in product_id order, checks and takes
// their stock, and records the order at the current prices. Because every
// order locks in the same order, concurrent orders queue behind each other
// instead of deadlocking, and because the stock is checked under the lock,
// nothing is oversold. Lines for the same product are merged.
//
// It fails with *InsufficientStockError when a product runs short, with
// ErrNotFound when a product does not exist, and with an error naming the
// line for a quantity below 1; nothing is stored then. opts are
// WithTxOptions' (the zero value is fine; set OnRetry to count retries).
func PlaceOrder(ctx context.Context, b TxBeginner, userID int64, lines []OrderLine, opts TxOptions) (Order, error) {
	ids, qty, err := mergeLines(lines)
	if err != nil {
		return Order{}, fmt.Errorf("place order: %w", err)
	}
	var order Order
	err = WithTxOptions(ctx, b, opts, func(q *Queries) error {
		locked, err := q.ProductLockForOrder(ctx, ids)
		if err != nil {
			return err
		}
		if len(locked) != len(ids) {
			for _, id := range ids {
				if !slices.ContainsFunc(locked, func(p ProductLockForOrderRow) bool { return p.ProductID == id }) {
					return fmt.Errorf("product %d: %w", id, ErrNotFound)
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
		if _, err := q.ProductTakeStock(ctx, ProductTakeStockParams{ProductIds: ids, Quantities: qty}); err != nil {
			return err
		}
		order, err = q.OrderCreate(ctx, OrderCreateParams{UserID: userID, Status: OrderStatusPending, TotalCents: total})
		if err != nil {
			return err
		}
		items := make([]OrderItemCreateParams, len(ids))
		for i, p := range locked {
			items[i] = OrderItemCreateParams{OrderID: order.OrderID, ProductID: p.ProductID, Quantity: qty[i], UnitPriceCents: p.PriceCents}
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
		return Order{}, fmt.Errorf("place order: %w", err)
	}
	return order, nil
}

// mergeLines validates lines and returns product ids in ascending order with
// their summed quantities.
func mergeLines(lines []OrderLine) ([]int64, []int32, error) {
	if len(lines) == 0 {
		return nil, nil, errors.New("an order needs at least one line")
	}
	sum := make(map[int64]int32, len(lines))
	for i, l := range lines {
		if l.Quantity < 1 {
			return nil, nil, fmt.Errorf("line %d (product %d): quantity %d, want at least 1", i+1, l.ProductID, l.Quantity)
		}
		sum[l.ProductID] += l.Quantity
	}
	ids := make([]int64, 0, len(sum))
	for id := range sum {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	qty := make([]int32, len(ids))
	for i, id := range ids {
		qty[i] = sum[id]
	}
	return ids, qty, nil
}
