-- name: PersonCreate :one
INSERT INTO people (name, mood, moods, last_mood, email, home, past)
VALUES (@name, @mood, @moods, sqlc.narg('last_mood'), @email, sqlc.narg('home'), @past)
RETURNING *;

-- name: PersonGet :one
SELECT * FROM people WHERE id = @id;

-- name: PersonList :many
SELECT * FROM people ORDER BY id;

-- name: PersonListByMoods :many
SELECT * FROM people WHERE mood = ANY(@moods::mood[]) ORDER BY id;

-- name: PersonMoods :many
SELECT moods FROM people ORDER BY id;

-- name: PersonMood :many
SELECT mood FROM people ORDER BY id;

-- name: PersonLastMoods :many
SELECT last_mood FROM people ORDER BY id;

-- name: PersonHomes :many
SELECT home FROM people ORDER BY id;

-- name: PersonEmails :many
SELECT email FROM people ORDER BY id;

-- name: PersonCopy :copyfrom
INSERT INTO people (name, mood, moods, last_mood, email, home, past)
VALUES (@name, @mood, @moods, sqlc.narg('last_mood'), @email, sqlc.narg('home'), @past);
