-- name: CreateAuthor :one
INSERT INTO authors (name, bio)
VALUES (@name, sqlc.narg('bio'))
RETURNING *;

-- name: CreateBook :one
INSERT INTO books (author_id, title, published)
VALUES (sqlc.arg('author_id'), sqlc.arg('title'), sqlc.narg('published'))
RETURNING *;

-- name: GetBookWithAuthor :one
SELECT sqlc.embed(books), sqlc.embed(authors)
FROM books
JOIN authors ON authors.id = books.author_id
WHERE books.id = @book_id;

-- name: ListBooksWithAuthors :many
SELECT sqlc.embed(books), sqlc.embed(authors)
FROM books
JOIN authors ON authors.id = books.author_id
WHERE (sqlc.narg('author')::bigint IS NULL OR books.author_id = sqlc.narg('author'))
ORDER BY books.title, books.id;

-- name: ListBookTitlesWithAuthor :many
SELECT books.id, books.title, sqlc.embed(authors)
FROM books
INNER JOIN authors ON authors.id = books.author_id
WHERE books.title LIKE @pattern
ORDER BY books.id;

-- name: GetAuthorWithBookCount :one
SELECT sqlc.embed(authors), count(books.id) AS books
FROM authors
JOIN books ON books.author_id = authors.id
WHERE authors.id = @id
GROUP BY authors.id;

-- name: ListAuthorBooksPublishedSince :many
SELECT sqlc.embed(a), sqlc.embed(b)
FROM authors a
JOIN books b ON b.author_id = a.id
WHERE a.name = @name
  AND (sqlc.narg('since')::date IS NULL OR b.published >= sqlc.narg('since'))
ORDER BY b.published NULLS LAST, b.id;
