-- name: CreateSupplier :one
INSERT INTO suppliers (name)
VALUES ($1)
RETURNING *;

-- name: CreateItem :one
INSERT INTO inventory.items (supplier_id, sku, qty, note)
VALUES ($1, $2, $3, $4)
RETURNING *;

-- name: GetItem :one
SELECT * FROM inventory.items
WHERE id = $1;

-- name: ListItems :many
SELECT * FROM inventory.items
WHERE supplier_id = $1
ORDER BY sku;

-- name: ListItemsWithSupplier :many
SELECT i.sku, i.status, s.name AS supplier
FROM inventory.items i
JOIN public.suppliers s ON s.id = i.supplier_id
WHERE i.status = $1
ORDER BY i.sku;

-- name: SetQty :exec
UPDATE inventory.items SET qty = $2
WHERE id = $1;

-- name: RetireItem :exec
UPDATE inventory.items SET status = 'retired'
WHERE id = $1;

-- name: CopyItems :copyfrom
INSERT INTO inventory.items (supplier_id, sku, qty, status, note)
VALUES ($1, $2, $3, $4, $5);

-- name: ListNothing :many
SELECT FROM inventory.items;
