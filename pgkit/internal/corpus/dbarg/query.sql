-- name: CreateTeam :one
INSERT INTO teams (name)
VALUES ($1)
RETURNING *;

-- name: GetTeam :one
SELECT * FROM teams
WHERE id = $1;

-- name: ListTeamNames :many
SELECT name FROM teams
ORDER BY name;

-- name: ListMembers :many
SELECT * FROM members
WHERE team_id = $1
ORDER BY score DESC, name;

-- name: AddMember :exec
INSERT INTO members (team_id, name, score)
VALUES ($1, $2, $3);

-- name: CopyMembers :copyfrom
INSERT INTO members (team_id, name, score)
VALUES ($1, $2, $3);

-- name: SetScores :batchexec
UPDATE members SET score = $2
WHERE id = $1;

-- name: MoveMembers :batchexec
UPDATE members SET team_id = $2
WHERE id = $1;
