-- name: CreateProduct :one
INSERT INTO products (name) VALUES (@name) RETURNING *;

-- name: CreateReview :one
INSERT INTO reviews (product_id, rating, body, created_at)
VALUES (@product_id, @rating, @body, @created_at)
RETURNING *;

-- name: pgkitReviewsSortNewest :many
-- pgkit:public Reviews
-- pgkit:sort newest default
-- Reviews lists a product's reviews, at most lim of them.
SELECT * FROM reviews
WHERE product_id = @product_id
ORDER BY created_at DESC, id DESC
LIMIT @lim;

-- name: pgkitReviewsSortHighestRated :many
-- pgkit:public Reviews
-- pgkit:sort highest_rated
-- Reviews lists a product's reviews, at most lim of them.
SELECT * FROM reviews
WHERE product_id = @product_id
ORDER BY rating DESC, created_at DESC, id DESC
LIMIT @lim;

-- name: pgkitReviewsSortOldest :many
-- pgkit:public Reviews
-- pgkit:sort oldest
-- Reviews lists a product's reviews, at most lim of them.
SELECT * FROM reviews
WHERE product_id = @product_id
ORDER BY created_at, id
LIMIT @lim;

-- name: pgkitProductNamesSortName :many
-- pgkit:public ProductNames
-- pgkit:sort name default
SELECT id, name FROM products
WHERE name LIKE @pattern
ORDER BY name, id;

-- name: pgkitProductNamesSortNewest :many
-- pgkit:public ProductNames
-- pgkit:sort newest
SELECT id, name FROM products
WHERE name LIKE @pattern
ORDER BY id DESC;

-- name: pgkitTopReviewSortBest :one
-- pgkit:public TopReview
-- pgkit:sort best default
SELECT id, rating FROM reviews
WHERE product_id = @product_id
ORDER BY rating DESC, id
LIMIT 1;

-- name: pgkitTopReviewSortWorst :one
-- pgkit:public TopReview
-- pgkit:sort worst
SELECT id, rating FROM reviews
WHERE product_id = @product_id
ORDER BY rating, id
LIMIT 1;

-- name: pgkitEdgeReviewSortNewest :one
-- pgkit:public EdgeReview
-- pgkit:opt
-- pgkit:sort newest default
-- EdgeReview is a product's newest or oldest review, if it has any.
SELECT * FROM reviews
WHERE product_id = @product_id
ORDER BY created_at DESC, id DESC
LIMIT 1;

-- name: pgkitEdgeReviewSortOldest :one
-- pgkit:public EdgeReview
-- pgkit:opt
-- pgkit:sort oldest
-- EdgeReview is a product's newest or oldest review, if it has any.
SELECT * FROM reviews
WHERE product_id = @product_id
ORDER BY created_at, id
LIMIT 1;
