-- name: CreateTeam :one
INSERT INTO teams (name) VALUES (@name) RETURNING *;

-- name: UserFind :opt
-- UserFind returns the user with the id, if there is one.
SELECT * FROM users WHERE id = @id;

-- name: UserFindByEmail :opt
SELECT id, email, nickname FROM users WHERE lower(email) = lower(@email);

-- name: UserEmail :opt
SELECT email FROM users WHERE id = @id;

-- name: UserNickname :opt
SELECT nickname FROM users WHERE id = @id;

-- name: UserClaim :opt
-- UserClaim creates a user unless the email is taken (false then); a
-- taken nickname is a unique violation, an error.
INSERT INTO users (email, nickname, team_id)
VALUES (@email, sqlc.narg('nickname'), sqlc.narg('team_id'))
ON CONFLICT (email) DO NOTHING
RETURNING *;

-- name: UserWithTeam :opt
SELECT sqlc.embed(users), sqlc.embed(teams)
FROM users
LEFT JOIN teams ON teams.id = users.team_id
WHERE users.id = @id;

-- name: UsersWithTeams :many
SELECT sqlc.embed(users), sqlc.embed(teams)
FROM users
LEFT JOIN teams ON teams.id = users.team_id
ORDER BY users.id;

-- name: Users :many
-- pgkit:sort email email
-- pgkit:sort newest id DESC
SELECT * FROM users ORDER BY email;
