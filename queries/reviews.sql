-- name: ReviewCreate :one
INSERT INTO reviews (product_id, user_id, rating, body)
VALUES (@product_id::bigint, @user_id::bigint, @rating::smallint, sqlc.narg('body')::text)
RETURNING *;

-- name: ReviewListByProduct :many
-- ReviewListByProduct returns a product's reviews newest first. For the next
-- page pass the created_at and review_id of the last review seen; for the
-- first page leave them nil.
-- pgkit:optional before_created_at before_review_id
SELECT * FROM reviews
WHERE product_id = @product_id::bigint
    AND (created_at, review_id) < (@before_created_at::timestamptz, @before_review_id::bigint)
ORDER BY created_at DESC, review_id DESC
LIMIT @max::integer;

-- name: ReviewListByProducts :batchmany
-- ReviewListByProducts queues the newest reviews of several products as
-- one batch: one round trip whatever the number of products.
SELECT * FROM reviews
WHERE product_id = @product_id::bigint
ORDER BY created_at DESC, review_id DESC
LIMIT @max::integer;

-- name: ReviewStatsByProduct :one
SELECT count(*)::bigint AS review_count,
    coalesce(avg(rating), 0)::float8 AS average_rating
FROM reviews
WHERE product_id = @product_id::bigint;

-- name: ReviewDelete :execrows
DELETE FROM reviews
WHERE review_id = @review_id::bigint;

-- name: ReviewCreateMany :copyfrom
INSERT INTO reviews (product_id, user_id, rating, body)
VALUES (@product_id, @user_id, @rating, @body);
