-- name: AccountCreate :one
INSERT INTO accounts (name, team, email)
VALUES (@name::text, @team::text, sqlc.narg('email')::text)
RETURNING *;

-- name: AccountCreateWithID :one
-- AccountCreateWithID inserts an account under a chosen id; an id already
-- in use fails on accounts_pkey.
INSERT INTO accounts (account_id, name, team, email)
VALUES (@account_id::bigint, @name::text, @team::text, sqlc.narg('email')::text)
RETURNING *;

-- name: AccountCreateMany :copyfrom
INSERT INTO accounts (name, team, email)
VALUES (@name, @team, @email);

-- name: AccountGetByID :one
SELECT * FROM accounts
WHERE account_id = @account_id::bigint;

-- name: AccountGetByEmail :one
SELECT * FROM accounts
WHERE lower(email) = lower(@email::text);

-- name: AccountList :many
-- AccountList pages through accounts in id order: pass the last account_id
-- of the previous page (0 for the first page). Only accounts whose team
-- starts with team_prefix are listed; an empty team_prefix matches all.
SELECT * FROM accounts
WHERE account_id > @after_account_id::bigint
    AND (@team_prefix::text = '' OR starts_with(team, @team_prefix::text))
ORDER BY account_id
LIMIT @max::integer;

-- name: AccountUpdateEmail :execrows
UPDATE accounts
SET email = sqlc.narg('email')::text
WHERE account_id = @account_id::bigint;

-- name: AccountExport :many
-- AccountExport returns every account after after_account_id in id order;
-- AccountExportStream yields the same rows one at a time.
SELECT * FROM accounts
WHERE account_id > @after_account_id::bigint
ORDER BY account_id;
