-- name: CreateStore :one
INSERT INTO stores (name, city)
VALUES ($1, $2)
RETURNING *;

-- name: GetStore :one
SELECT * FROM stores
WHERE id = $1;

-- name: ListStores :many
SELECT * FROM stores
ORDER BY name;

-- name: CreateStreamer :one
INSERT INTO streamers (store_id, handle, followers)
VALUES ($1, $2, $3)
RETURNING *;

-- name: StreamQuery :many
SELECT * FROM streamers
WHERE store_id = $1
ORDER BY handle;

-- name: PgkitStreamQuery :many
SELECT handle FROM streamers
WHERE followers >= $1
ORDER BY followers DESC, handle;

-- name: Iter :many
SELECT name FROM stores
ORDER BY name;

-- name: Fmt :one
SELECT count(*) FROM streamers;
