-- name: Store :exec
INSERT INTO settings (key, value)
VALUES ($1, $2)
ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value;

-- name: Lookup :one
SELECT value FROM settings
WHERE key = $1;

-- name: ListKeys :many
SELECT key FROM settings
ORDER BY key;

-- name: AddSensor :one
INSERT INTO sensors (name, unit)
VALUES ($1, $2)
RETURNING *;

-- name: CopyReadings :copyfrom
INSERT INTO readings (sensor, value)
VALUES ($1, $2);

-- name: ListReadings :many
SELECT * FROM readings
WHERE sensor = $1
ORDER BY id;
