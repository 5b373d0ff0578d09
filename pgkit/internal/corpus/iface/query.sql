-- name: CreatePart :one
INSERT INTO widget_parts (part_code, spec, extra_meta)
VALUES ($1, $2, $3)
RETURNING *;

-- name: GetPart :one
SELECT * FROM widget_parts
WHERE id = $1;

-- name: ListPartsByIDs :many
SELECT * FROM widget_parts
WHERE id = ANY(@ids::bigint[])
ORDER BY id;

-- name: ListPartCodesWithMeta :many
SELECT part_code FROM widget_parts
WHERE extra_meta @> @filter::jsonb
ORDER BY part_code;

-- name: SetPartMeta :exec
UPDATE widget_parts SET extra_meta = $2
WHERE id = $1;

-- name: DeleteParts :execrows
DELETE FROM widget_parts
WHERE id = ANY(@ids::bigint[]);
