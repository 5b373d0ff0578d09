-- name: OrderCreate :one
INSERT INTO orders (user_id, status, total_cents)
VALUES (@user_id::bigint, @status::order_status, @total_cents::bigint)
RETURNING *;

-- name: OrderGetByID :one
SELECT * FROM orders
WHERE order_id = @order_id::bigint;

-- name: OrderListByUser :many
-- OrderListByUser returns a customer's orders newest first. For the next page
-- pass the created_at and order_id of the last order seen; for the first page
-- leave them nil.
-- pgkit:optional before_created_at before_order_id
SELECT * FROM orders
WHERE user_id = @user_id::bigint
    AND (created_at, order_id) < (@before_created_at::timestamptz, @before_order_id::bigint)
ORDER BY created_at DESC, order_id DESC
LIMIT @max::integer;

-- name: OrderListByStatus :many
-- OrderListByStatus returns the oldest orders in a status, after_order_id
-- being the last order_id of the previous page (0 for the first page).
SELECT * FROM orders
WHERE status = @status::order_status
    AND order_id > @after_order_id::bigint
ORDER BY order_id
LIMIT @max::integer;

-- name: OrderUpdateStatus :execrows
-- OrderUpdateStatus moves an order from one status to another; it affects no
-- row when the order is not in from_status, so two workers cannot both move it.
UPDATE orders
SET status = @to_status::order_status
WHERE order_id = @order_id::bigint
    AND status = @from_status::order_status;

-- name: OrderItemCreate :batchexec
-- OrderItemCreate queues one order line; sent as a batch, all lines of an
-- order go in one round trip.
INSERT INTO order_items (order_id, product_id, quantity, unit_price_cents)
VALUES (@order_id::bigint, @product_id::bigint, @quantity::integer, @unit_price_cents::bigint);

-- name: OrderItemListByOrder :many
SELECT * FROM order_items
WHERE order_id = @order_id::bigint
ORDER BY product_id;

-- name: OrderClaimByStatus :many
-- OrderClaimByStatus locks up to max of the oldest orders in a status FOR
-- UPDATE SKIP LOCKED: inside a transaction, concurrent workers each get
-- different orders and never wait for one another.
SELECT * FROM orders
WHERE status = @status::order_status
ORDER BY order_id
LIMIT @max::integer
FOR UPDATE SKIP LOCKED;

-- name: OrderExport :many
-- OrderExport returns every order created in [since, until) in id order;
-- OrderExportStream yields the same rows one at a time.
SELECT * FROM orders
WHERE created_at >= @since::timestamptz AND created_at < @until::timestamptz
ORDER BY order_id;

-- name: OrderCreateMany :copyfrom
INSERT INTO orders (user_id, status, total_cents, created_at)
VALUES (@user_id, @status, @total_cents, @created_at);
