-- name: CreateAuthor :one
INSERT INTO authors (name, bio)
VALUES (@name, sqlc.narg('bio'))
RETURNING *;

-- name: CreateBook :one
INSERT INTO books (author_id, title, subtitle, price, cover, added_at, published)
VALUES (@author_id, @title, sqlc.narg('subtitle'), sqlc.narg('price'), sqlc.narg('cover'), @added_at, sqlc.narg('published'))
RETURNING *;

-- name: CreateNote :one
INSERT INTO notes (author_id, body, amount, raw, written_at, seen_at)
VALUES (@author_id, @body, @amount, sqlc.narg('raw'), @written_at, sqlc.narg('seen_at'))
RETURNING *;

-- name: ListAuthorsWithBooks :many
-- pgkit:nest b Books
-- ListAuthorsWithBooks lists the authors whose name starts with prefix,
-- each with its books (none: an empty list).
SELECT a.id, a.name, a.bio, sqlc.embed(b)
FROM authors a
LEFT JOIN books b ON b.author_id = a.id
WHERE starts_with(a.name, @prefix::text)
ORDER BY a.id, b.id;

-- name: GetAuthorWithBooks :one
-- pgkit:nest b
-- GetAuthorWithBooks returns one author with its books.
SELECT a.id, a.name, sqlc.embed(b)
FROM authors a
LEFT JOIN books b ON b.author_id = a.id
WHERE a.id = @id
ORDER BY b.id;

-- name: FindAuthorWithBooks :opt
-- pgkit:nest b Titles
SELECT sqlc.embed(a), sqlc.embed(b)
FROM authors a
LEFT JOIN books b ON b.author_id = a.id
WHERE a.name = @name
ORDER BY a.id, b.id;

-- name: ListBooksByTitleWithAuthor :many
-- pgkit:nest b
-- ListBooksByTitleWithAuthor is not ordered by the parent key: an author
-- whose books are not consecutive comes once per run of them.
SELECT a.id, a.name, sqlc.embed(b)
FROM authors a
LEFT JOIN books b ON b.author_id = a.id
ORDER BY b.title NULLS LAST, a.id;

-- name: ListAuthorsWithNotes :many
-- pgkit:json notes Note
-- ListAuthorsWithNotes lists every author with its notes, oldest first.
SELECT a.id, a.name,
    coalesce((SELECT json_agg(n ORDER BY n.written_at, n.id) FROM notes n WHERE n.author_id = a.id), '[]')::json AS notes
FROM authors a
ORDER BY a.id;

-- name: GetAuthorPage :one
-- pgkit:json books Book
-- pgkit:json notes Note
-- GetAuthorPage is an author with its books and notes: one statement, two
-- child lists.
SELECT sqlc.embed(a),
    coalesce((SELECT json_agg(b ORDER BY b.id) FROM books b WHERE b.author_id = a.id), '[]')::json AS books,
    coalesce((SELECT json_agg(n ORDER BY n.id) FROM notes n WHERE n.author_id = a.id), '[]')::json AS notes
FROM authors a
WHERE a.id = @id;
