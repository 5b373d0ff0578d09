package shop

import (
	"context"
	"fmt"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/pgkit"
)

// ClaimOrders is a work-queue step: in one transaction on src it claims up
// to max of the oldest orders in status from, with FOR UPDATE SKIP LOCKED,
// calls handle with them, and moves each to status to. Workers running it
// at the same time get disjoint orders and never wait for each other's
// rows. When handle fails, the transaction rolls back and the orders stay
// in from for the next worker. It returns the orders it moved (none when
// the queue is empty).
func ClaimOrders(ctx context.Context, src pgkit.Source, from, to db.OrderStatus, max int32,
	handle func(ctx context.Context, q *db.Queries, orders []db.Order) error) ([]db.Order, error) {
	var claimed []db.Order
	err := pgkit.WithTx(ctx, src, db.New, func(q *db.Queries) error {
		var err error
		claimed, err = q.OrderClaimByStatus(ctx, db.OrderClaimByStatusParams{Status: from, Max: max})
		if err != nil || len(claimed) == 0 {
			return err
		}
		if err := handle(ctx, q, claimed); err != nil {
			return err
		}
		for i, o := range claimed {
			n, err := q.OrderUpdateStatus(ctx, db.OrderUpdateStatusParams{OrderID: o.OrderID, FromStatus: from, ToStatus: to})
			if err != nil {
				return err
			}
			if n != 1 {
				return fmt.Errorf("order %d left status %s while claimed", o.OrderID, from)
			}
			claimed[i].Status = to
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim orders: %w", err)
	}
	return claimed, nil
}
