-- name: CreateStore :one
INSERT INTO stores (name)
VALUES ($1)
RETURNING *;

-- name: GetStore :one
SELECT * FROM stores
WHERE id = $1;

-- name: CreateStreamer :one
INSERT INTO streamers (store_id, handle, followers)
VALUES ($1, $2, $3)
RETURNING *;

-- name: ListStreamers :many
SELECT * FROM streamers
WHERE store_id = $1
ORDER BY handle;
