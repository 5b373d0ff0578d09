-- name: CreateThing :one
INSERT INTO things (uuid, json, blob, scores, d)
VALUES ($1, $2, $3, $4, $5)
RETURNING *;

-- name: ListUUIDs :many
SELECT uuid FROM things
ORDER BY id;

-- name: ListJSON :many
SELECT json FROM things
ORDER BY id;

-- name: ListThingsLen :many
SELECT * FROM things
WHERE cardinality(scores) <= @len::integer
ORDER BY id;

-- name: ListThingsAny :many
SELECT * FROM things
WHERE d <> sqlc.arg('any')::integer
ORDER BY id;

-- name: ListBlobs :many
SELECT blob FROM things
ORDER BY id;

-- name: ListScores :many
SELECT scores FROM things
ORDER BY id;

-- name: ListQuotients :many
SELECT id, blob, scores, (100 / (d - @pivot::integer))::integer AS q FROM things
ORDER BY id;

-- name: Dst :many
SELECT d FROM things ORDER BY id;

-- name: Zero :many
SELECT d FROM things ORDER BY id;

-- name: Yield :many
SELECT d FROM things ORDER BY id;

-- name: Any :many
SELECT * FROM things ORDER BY id;

-- name: CopyThings :copyfrom
INSERT INTO things (uuid, json, blob, scores, d)
VALUES ($1, $2, $3, $4, $5);
