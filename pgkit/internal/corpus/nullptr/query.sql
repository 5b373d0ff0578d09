-- name: CreateProfile :one
INSERT INTO profiles (handle, nickname, age, visits, active, rating, balance, seen_at, born, token, avatar, prefs)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
RETURNING *;

-- name: CreateProfileMaybeHandle :exec
INSERT INTO profiles (handle)
VALUES (sqlc.narg('handle'));

-- name: GetProfile :one
SELECT * FROM profiles
WHERE id = $1;

-- name: ListProfiles :many
SELECT * FROM profiles
ORDER BY id;

-- name: ListNicknames :many
SELECT nickname FROM profiles
ORDER BY id;

-- name: ListHandlesByNickname :many
SELECT handle FROM profiles
WHERE nickname IS NOT DISTINCT FROM sqlc.narg('nickname')
ORDER BY handle;

-- name: SetNickname :exec
UPDATE profiles SET nickname = $2
WHERE id = $1;

-- name: CopyProfiles :copyfrom
INSERT INTO profiles (handle, nickname, age, visits, active, rating, balance, seen_at, born, token, avatar, prefs)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12);

-- name: CreateProfiles :batchexec
INSERT INTO profiles (handle, nickname, age, visits, active, rating, balance, seen_at, born, token, avatar, prefs)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12);
