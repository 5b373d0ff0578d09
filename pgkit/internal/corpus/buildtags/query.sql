-- name: AuthorCreate :one
INSERT INTO authors (name, email, bio)
VALUES (@name, @email, sqlc.narg('bio'))
RETURNING id, name, email, bio;

-- name: AuthorGet :one
SELECT id, name, email, bio FROM authors
WHERE id = @id;

-- name: BookCreate :one
INSERT INTO books (author_id, title)
VALUES (@author_id, @title)
RETURNING *;

-- name: BookList :many
SELECT * FROM books
WHERE author_id = @author_id
ORDER BY title;

-- name: BookTitleIDs :many
SELECT id FROM books
ORDER BY id;
