-- name: CreateProduct :one
INSERT INTO products (name) VALUES (@name) RETURNING *;

-- name: CreateReview :one
INSERT INTO reviews (product_id, rating, body, created_at)
VALUES (@product_id, @rating, @body, @created_at)
RETURNING *;

-- name: Reviews :many
-- pgkit:sort newest created_at DESC, id DESC
-- pgkit:sort highest_rated rating DESC, created_at DESC, id DESC
-- pgkit:sort oldest created_at, id
-- Reviews lists a product's reviews, at most lim of them.
SELECT * FROM reviews
WHERE product_id = @product_id
ORDER BY created_at DESC, id DESC
LIMIT @lim;

-- name: ProductNames :many
-- pgkit:sort name name, id
-- pgkit:sort newest id DESC
SELECT id, name FROM products
WHERE name LIKE @pattern;

-- name: TopReview :one
-- pgkit:sort best rating DESC, id
-- pgkit:sort worst rating, id
SELECT id, rating FROM reviews
WHERE product_id = @product_id
ORDER BY id
LIMIT 1;

-- name: EdgeReview :opt
-- pgkit:sort newest created_at DESC, id DESC
-- pgkit:sort oldest created_at, id
-- EdgeReview is a product's newest or oldest review, if it has any.
SELECT * FROM reviews
WHERE product_id = @product_id
LIMIT 1;
