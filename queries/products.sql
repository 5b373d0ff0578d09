-- name: ProductCreate :one
INSERT INTO products (sku, name, description, price_cents, stock)
VALUES (@sku::text, @name::text, sqlc.narg('description')::text, @price_cents::bigint, @stock::integer)
RETURNING *;

-- name: ProductCreateMany :copyfrom
INSERT INTO products (sku, name, description, price_cents, stock)
VALUES (@sku, @name, @description, @price_cents, @stock);

-- name: ProductGetByID :one
SELECT * FROM products
WHERE product_id = @product_id::bigint;

-- name: ProductGetBySKU :one
SELECT * FROM products
WHERE sku = @sku::text;

-- name: ProductListByIDs :many
SELECT * FROM products
WHERE product_id = ANY(@product_ids::bigint[])
ORDER BY product_id;

-- name: ProductList :many
-- ProductList pages through the catalogue in id order: pass the last
-- product_id of the previous page (0 for the first page). With in_stock_only
-- false every product is listed.
SELECT * FROM products
WHERE product_id > @after_product_id::bigint
    AND (NOT @in_stock_only::boolean OR stock > 0)
ORDER BY product_id
LIMIT @max::integer;

-- name: ProductAdjustStock :one
-- ProductAdjustStock adds delta (negative to take stock away). Taking more
-- than there is fails with products_stock_check.
UPDATE products
SET stock = stock + @delta::integer
WHERE product_id = @product_id::bigint
RETURNING stock;

-- name: ProductUpdatePrice :execrows
UPDATE products
SET price_cents = @price_cents::bigint
WHERE product_id = @product_id::bigint;

-- name: ProductLockForOrder :many
-- ProductLockForOrder locks the given products FOR UPDATE in product_id order
-- and returns what an order needs of them. Every order locking in the same
-- order is what keeps concurrent orders from deadlocking.
SELECT product_id, price_cents, stock
FROM products
WHERE product_id = ANY(@product_ids::bigint[])
ORDER BY product_id
FOR UPDATE;

-- name: ProductTakeStock :execrows
-- ProductTakeStock takes quantities[i] units of product_ids[i], all in one
-- statement. A product without enough stock fails products_stock_check.
UPDATE products AS p
SET stock = p.stock - t.quantity
FROM (SELECT unnest(@product_ids::bigint[]) AS product_id, unnest(@quantities::integer[]) AS quantity) AS t
WHERE p.product_id = t.product_id;
