-- name: CreateAccount :one
INSERT INTO app_users (usr_name, email_addr, homepage, settings)
VALUES ($1, $2, $3, $4)
RETURNING *;

-- name: GetAccount :one
SELECT * FROM app_users
WHERE id = $1;

-- name: ListAccounts :many
SELECT * FROM app_users
ORDER BY usr_name;

-- name: CreateSession :one
INSERT INTO sessions (usr_id, tok, settings)
VALUES ($1, $2, $3)
RETURNING *;

-- name: ListSessions :many
SELECT * FROM sessions
WHERE usr_id = $1
ORDER BY tok;

-- name: ListSessionTokens :many
SELECT tok FROM sessions
WHERE usr_id = $1
ORDER BY tok;

-- name: ListLogins :many
SELECT a.usr_name, a.email_addr, s.tok, s.settings
FROM sessions s
JOIN app_users a ON a.id = s.usr_id
ORDER BY a.usr_name, s.tok;

-- name: DeleteSessions :execrows
DELETE FROM sessions
WHERE usr_id = $1;
