-- name: CreateCounter :one
INSERT INTO counters (name, label)
VALUES ($1, $2)
RETURNING *;

-- name: GetCounter :one
SELECT * FROM counters
WHERE name = $1;

-- name: GetValue :one
SELECT value FROM counters
WHERE name = $1;

-- name: CountCounters :one
SELECT count(*) FROM counters;

-- name: SetLabel :exec
UPDATE counters SET label = sqlc.narg('label')
WHERE name = sqlc.arg('name');

-- name: Add :execrows
UPDATE counters SET value = value + sqlc.arg('delta')
WHERE name = sqlc.arg('name');

-- name: DeleteCounter :execrows
DELETE FROM counters
WHERE name = $1;
