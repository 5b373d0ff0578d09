-- name: CopyLoads :copyfrom
INSERT INTO loads (item_id, qty, note)
VALUES ($1, $2, $3);

-- name: ListLoads :many
SELECT * FROM loads
WHERE item_id = $1
ORDER BY qty, id;
