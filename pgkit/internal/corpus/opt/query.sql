-- name: CreateTeam :one
INSERT INTO teams (name) VALUES (@name) RETURNING *;

-- name: pgkitUserFind :one
-- pgkit:public UserFind
-- pgkit:opt
-- UserFind returns the user with the id, if there is one.
SELECT * FROM users WHERE id = @id;

-- name: pgkitUserFindByEmail :one
-- pgkit:public UserFindByEmail
-- pgkit:opt
SELECT id, email, nickname FROM users WHERE lower(email) = lower(@email);

-- name: pgkitUserEmail :one
-- pgkit:public UserEmail
-- pgkit:opt
SELECT email FROM users WHERE id = @id;

-- name: pgkitUserNickname :one
-- pgkit:public UserNickname
-- pgkit:opt
SELECT nickname FROM users WHERE id = @id;

-- name: pgkitUserClaim :one
-- pgkit:public UserClaim
-- pgkit:opt
-- UserClaim creates a user unless the email is taken (false then); a
-- taken nickname is a unique violation, an error.
INSERT INTO users (email, nickname, team_id)
VALUES (@email, sqlc.narg('nickname'), sqlc.narg('team_id'))
ON CONFLICT (email) DO NOTHING
RETURNING *;

-- name: pgkitUserWithTeam :one
-- pgkit:public UserWithTeam
-- pgkit:opt
-- pgkit:embed users notnull
-- pgkit:embed teams nullable
SELECT sqlc.embed(users), sqlc.embed(teams)
FROM users
LEFT JOIN teams ON teams.id = users.team_id
WHERE users.id = @id;

-- name: pgkitUsersWithTeams :many
-- pgkit:public UsersWithTeams
-- pgkit:embed users notnull
-- pgkit:embed teams nullable
SELECT sqlc.embed(users), sqlc.embed(teams)
FROM users
LEFT JOIN teams ON teams.id = users.team_id
ORDER BY users.id;

-- name: pgkitUsersSortEmail :many
-- pgkit:public Users
-- pgkit:sort email default
SELECT * FROM users ORDER BY email;

-- name: pgkitUsersSortNewest :many
-- pgkit:public Users
-- pgkit:sort newest
SELECT * FROM users ORDER BY id DESC;
