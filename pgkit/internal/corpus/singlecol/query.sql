-- name: CreateVal :one
INSERT INTO vals (grp, big, label, flag, amount, day, tags, nums, note, yield, zero, err)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
RETURNING *;

-- name: ListIDs :many
SELECT id FROM vals WHERE grp = $1 ORDER BY id;

-- name: ListBigs :many
SELECT big FROM vals WHERE grp = $1 ORDER BY id;

-- name: ListLabels :many
SELECT label FROM vals WHERE grp = $1 ORDER BY id;

-- name: ListFlags :many
SELECT flag FROM vals WHERE grp = $1 ORDER BY id;

-- name: ListAmounts :many
SELECT amount FROM vals WHERE grp = $1 ORDER BY id;

-- name: ListDays :many
SELECT day FROM vals WHERE grp = $1 ORDER BY id;

-- name: ListTags :many
SELECT tags FROM vals WHERE grp = $1 ORDER BY id;

-- name: ListNums :many
SELECT nums FROM vals WHERE grp = $1 ORDER BY id;

-- name: ListNotes :many
SELECT note FROM vals WHERE grp = $1 ORDER BY id;

-- name: ListDoubled :many
SELECT id * 2 AS doubled FROM vals WHERE grp = $1 ORDER BY id;

-- name: ListUpperLabels :many
SELECT upper(label) FROM vals WHERE grp = $1 ORDER BY id;

-- name: ListYields :many
SELECT yield FROM vals WHERE zero = $1 ORDER BY id;

-- name: ListZeros :many
SELECT zero FROM vals WHERE yield = $1 ORDER BY id;

-- name: ListErrs :many
SELECT err FROM vals WHERE grp = $1 ORDER BY id;

-- name: GetTags :one
SELECT tags FROM vals WHERE id = $1;

-- name: GetNums :one
SELECT nums FROM vals WHERE id = $1;

-- name: CountVals :one
SELECT count(*) FROM vals WHERE grp = $1;
