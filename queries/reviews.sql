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

-- name: ReviewList :many
-- ReviewList pages through a product's reviews in the order asked:
-- newest first (the default), or highest rated first and newest first
-- among equal ratings. Each order has its own keyset, since a position in
-- one is not a position in the other: for the next page of newest pass the
-- created_at and review_id of the last review seen as newest_before_*, for
-- highest_rated its rating, created_at and review_id as rated_before_*;
-- leave them nil for the first page.
-- pgkit:sort newest created_at DESC, review_id DESC
-- pgkit:sort highest_rated rating DESC, created_at DESC, review_id DESC
-- pgkit:optional newest_before_created_at newest_before_review_id
-- pgkit:optional rated_before_rating rated_before_created_at rated_before_review_id
SELECT * FROM reviews
WHERE product_id = @product_id::bigint
    AND (created_at, review_id) < (@newest_before_created_at::timestamptz, @newest_before_review_id::bigint)
    AND (rating, created_at, review_id) < (@rated_before_rating::smallint, @rated_before_created_at::timestamptz, @rated_before_review_id::bigint)
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
