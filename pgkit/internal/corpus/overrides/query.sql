-- name: CreateCustomer :one
INSERT INTO customers (id, email, created_at, deleted_at, referred_by, visits, balance)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING *;

-- name: GetCustomer :one
SELECT * FROM customers
WHERE id = $1;

-- name: ListCustomersCreatedSince :many
SELECT * FROM customers
WHERE created_at >= @since AND id <> @exclude
ORDER BY created_at, id;

-- name: ListReferrals :many
SELECT id FROM customers
WHERE referred_by = @referrer
ORDER BY email;

-- name: ListBalancesAfter :many
SELECT balance FROM customers
WHERE email > @after
ORDER BY email;

-- name: ListDeletedAt :many
SELECT deleted_at FROM customers
WHERE created_at < @before
ORDER BY created_at;

-- name: SoftDeleteCustomer :execrows
UPDATE customers SET deleted_at = @deleted_at
WHERE id = @id AND deleted_at IS NULL;

-- name: CreateProduct :one
INSERT INTO products (customer_id, name, price_cents, tax_rate)
VALUES ($1, $2, $3, $4)
RETURNING *;

-- name: ListPrices :many
SELECT price_cents FROM products
WHERE customer_id = @customer_id AND price_cents >= @min_price
ORDER BY price_cents;

-- name: CopyCustomers :copyfrom
INSERT INTO customers (id, email, created_at, deleted_at, referred_by, visits, balance)
VALUES ($1, $2, $3, $4, $5, $6, $7);

-- name: CopyProducts :copyfrom
INSERT INTO products (customer_id, name, price_cents, tax_rate)
VALUES ($1, $2, $3, $4);
