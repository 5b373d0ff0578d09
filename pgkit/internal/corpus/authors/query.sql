-- name: GetAuthor :one
SELECT * FROM authors
WHERE id = $1;

-- name: ListAuthors :many
SELECT * FROM authors
ORDER BY name, id;

-- name: CreateAuthor :one
INSERT INTO authors (name, email, bio)
VALUES ($1, $2, $3)
RETURNING *;

-- name: CreateAuthorMaybeNamed :exec
INSERT INTO authors (name, email)
VALUES (sqlc.narg('name'), sqlc.arg('email'));

-- name: UpdateAuthorBio :exec
UPDATE authors SET bio = $2
WHERE id = $1;

-- name: DeleteAuthor :execrows
DELETE FROM authors
WHERE id = $1;

-- name: CreateBook :one
INSERT INTO books (author_id, title)
VALUES ($1, $2)
RETURNING *;

-- name: ListBookTitles :many
SELECT title FROM books
WHERE author_id = $1
ORDER BY title;

-- name: ListQuotients :many
SELECT (10 / (3 - g))::int AS quotient
FROM generate_series(1, 5) AS g;

-- name: ListUnlessTwo :many
SELECT nullif(g, 2)::int AS n
FROM generate_series(1, 3) AS g;
