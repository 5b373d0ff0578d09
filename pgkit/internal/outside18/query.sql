-- name: ThingGet :one
SELECT * FROM things WHERE id = $1;

-- name: ThingList :many
SELECT * FROM things ORDER BY id;

-- name: ThingTexts :many
SELECT t FROM things ORDER BY id;

-- name: ThingIDs :many
SELECT id FROM things ORDER BY id;

-- name: Decoders :one
SELECT count(*) FROM things;

-- name: thingLower :many
SELECT id, t FROM things ORDER BY id;

-- name: ThingCopy :copyfrom
INSERT INTO things (i4, t, by, a4, at, ts, u, jb) VALUES ($1, $2, $3, $4, $5, $6, $7, $8);

-- name: StrictList :many
SELECT * FROM strict ORDER BY id;

-- name: StrictGet :one
SELECT * FROM strict WHERE id = $1;

-- name: StrictText :one
SELECT t FROM strict WHERE id = $1;

-- name: StrictCopy :copyfrom
INSERT INTO strict (i4, i8, t, by, ts, u, b, f8, d, a4, at, jb) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12);
