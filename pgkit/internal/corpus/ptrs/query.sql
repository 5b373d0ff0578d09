-- name: CreateProduct :one
INSERT INTO products (sku, price_cents, stock)
VALUES ($1, $2, $3)
RETURNING *;

-- name: GetProduct :one
SELECT * FROM products
WHERE id = $1;

-- name: ListProductsInRange :many
SELECT * FROM products
WHERE price_cents BETWEEN @min_cents AND @max_cents
ORDER BY sku;

-- name: ListSkus :many
SELECT sku FROM products
ORDER BY sku;

-- name: SetStock :exec
UPDATE products SET stock = $2
WHERE sku = $1;

-- name: CopyProducts :copyfrom
INSERT INTO products (sku, price_cents, stock)
VALUES ($1, $2, $3);

-- name: GetProductsBySku :batchone
SELECT * FROM products
WHERE sku = $1;

-- name: Reprice :batchone
UPDATE products SET price_cents = $2
WHERE sku = $1
RETURNING *;
