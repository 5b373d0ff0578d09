-- name: CreateItem :one
INSERT INTO items (name, scores, labels, doc, meta, body, blob)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING *;

-- name: GetItem :one
SELECT * FROM items
WHERE id = $1;

-- name: ListItemsByIDs :many
SELECT * FROM items
WHERE id = ANY(@ids::bigint[])
ORDER BY id;

-- name: ListItemsExcept :many
SELECT id, name, scores, labels FROM items
WHERE id = ANY(@ids::bigint[]) AND name <> ALL(@excluded::text[])
ORDER BY id;

-- name: InsertNames :execrows
INSERT INTO items (name)
SELECT unnest(@names::text[]);

-- name: ListNames :many
SELECT name FROM items
WHERE name = ANY(@names::text[])
ORDER BY name;

-- name: ListScores :many
SELECT scores FROM items
WHERE id = ANY(@ids::bigint[])
ORDER BY id;

-- name: ListLabels :many
SELECT labels FROM items
WHERE id = ANY(@ids::bigint[])
ORDER BY id;

-- name: ListDocs :many
SELECT doc, meta FROM items
WHERE id = ANY(@ids::bigint[])
ORDER BY id;

-- name: ListBlobs :many
SELECT blob FROM items
WHERE id = ANY(@ids::bigint[])
ORDER BY id;

-- name: ListBodies :many
SELECT body FROM items
WHERE id = ANY(@ids::bigint[])
ORDER BY id;

-- name: GetIDsByNames :one
SELECT array_agg(id ORDER BY id)::bigint[] AS ids FROM items
WHERE name = ANY(@names::text[]);
