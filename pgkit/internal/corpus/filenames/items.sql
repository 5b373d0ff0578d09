-- name: CreateItem :one
INSERT INTO items (sku, name)
VALUES ($1, $2)
RETURNING *;

-- name: GetItem :one
SELECT * FROM items
WHERE sku = $1;

-- name: ListItems :many
SELECT * FROM items
ORDER BY sku;

-- name: SetQty :batchexec
UPDATE items SET qty = $2
WHERE sku = $1;

-- name: GetItemBatch :batchone
SELECT * FROM items
WHERE sku = $1;

-- name: ListLoadQtysBatch :batchmany
SELECT qty FROM loads
WHERE item_id = $1
ORDER BY qty;
