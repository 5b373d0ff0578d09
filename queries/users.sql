-- name: UserCreate :one
INSERT INTO users (first_name, last_name, email)
VALUES (@first_name::text, @last_name::text, sqlc.narg('email')::text)
RETURNING *;

-- name: UserCreateWithID :one
-- UserCreateWithID inserts a user under a chosen id, as imports from older
-- systems do. An id already in use fails on users_pkey.
INSERT INTO users (user_id, first_name, last_name, email)
VALUES (@user_id::bigint, @first_name::text, @last_name::text, sqlc.narg('email')::text)
RETURNING *;

-- name: UserCreateMany :copyfrom
INSERT INTO users (first_name, last_name, email)
VALUES (@first_name, @last_name, @email);

-- name: UserGetByID :one
SELECT * FROM users
WHERE user_id = @user_id::bigint;

-- name: UserFindByEmail :opt
-- UserFindByEmail finds the user of an e-mail address, compared without
-- case; ok is false when no user has it.
SELECT * FROM users
WHERE lower(email) = lower(@email::text);

-- name: UserListByIDs :many
SELECT * FROM users
WHERE user_id = ANY(@user_ids::bigint[])
ORDER BY user_id;

-- name: UserList :many
-- UserList pages through users in id order: pass the last user_id of the
-- previous page (0 for the first page). Only users whose last name starts
-- with name_prefix, taken literally (% and _ are plain characters), are
-- listed; a nil name_prefix matches everyone.
-- pgkit:optional name_prefix
SELECT * FROM users
WHERE user_id > @after_user_id::bigint
    AND starts_with(last_name, @name_prefix::text)
ORDER BY user_id
LIMIT @max::integer;

-- name: UserUpdateEmail :execrows
UPDATE users
SET email = sqlc.narg('email')::text
WHERE user_id = @user_id::bigint;

-- name: UserDelete :execrows
DELETE FROM users
WHERE user_id = @user_id::bigint;

-- name: UserExport :many
-- UserExport returns every user after after_user_id in id order. For large
-- tables use UserExportStream, which yields the same rows one at a time.
SELECT * FROM users
WHERE user_id > @after_user_id::bigint
ORDER BY user_id;
