-- This file is written in the OUTPUT form of pgkitgen expand (stage 1):
-- hidden pgkitX queries with their -- pgkit: contract lines, which sqlc
-- copies into the Go doc comments that pgkitgen (stage 2) reads. When
-- stage 1 lands, the source form (-- name: X :many with -- pgkit:nest)
-- moves to queries/ of its own and this file is generated from it.

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

-- name: pgkitListAuthorsWithBooks :many
-- pgkit:public ListAuthorsWithBooks
-- pgkit:embed b nullable
-- pgkit:nest b Books
-- ListAuthorsWithBooks lists the authors whose name starts with prefix,
-- each with its books (none: an empty list).
SELECT a.id, a.name, a.bio, sqlc.embed(b)
FROM authors a
LEFT JOIN books b ON b.author_id = a.id
WHERE starts_with(a.name, @prefix::text)
ORDER BY a.id, b.id;

-- name: pgkitGetAuthorWithBooks :many
-- pgkit:public GetAuthorWithBooks
-- pgkit:one
-- pgkit:embed b nullable
-- pgkit:nest b
-- GetAuthorWithBooks returns one author with its books.
SELECT a.id, a.name, sqlc.embed(b)
FROM authors a
LEFT JOIN books b ON b.author_id = a.id
WHERE a.id = @id
ORDER BY b.id;

-- name: pgkitFindAuthorWithBooks :many
-- pgkit:public FindAuthorWithBooks
-- pgkit:opt
-- pgkit:embed a notnull
-- pgkit:embed b nullable
-- pgkit:nest b Titles
SELECT sqlc.embed(a), sqlc.embed(b)
FROM authors a
LEFT JOIN books b ON b.author_id = a.id
WHERE a.name = @name
ORDER BY a.id, b.id;

-- name: pgkitListBooksByTitleWithAuthor :many
-- pgkit:public ListBooksByTitleWithAuthor
-- pgkit:embed b nullable
-- pgkit:nest b
-- ListBooksByTitleWithAuthor is not ordered by the parent key: an author
-- whose books are not consecutive comes once per run of them.
SELECT a.id, a.name, sqlc.embed(b)
FROM authors a
LEFT JOIN books b ON b.author_id = a.id
ORDER BY b.title NULLS LAST, a.id;

-- name: pgkitListAuthorsWithNotes :many
-- pgkit:public ListAuthorsWithNotes
-- pgkit:json notes Note
-- ListAuthorsWithNotes lists every author with its notes, oldest first.
SELECT a.id, a.name,
    coalesce((SELECT json_agg(n ORDER BY n.written_at, n.id) FROM notes n WHERE n.author_id = a.id), '[]')::json AS notes
FROM authors a
ORDER BY a.id;

-- name: pgkitGetAuthorPage :one
-- pgkit:public GetAuthorPage
-- pgkit:json books Book
-- pgkit:json notes Note
-- GetAuthorPage is an author with its books and notes: one statement, two
-- child lists.
SELECT sqlc.embed(a),
    coalesce((SELECT json_agg(b ORDER BY b.id) FROM books b WHERE b.author_id = a.id), '[]')::json AS books,
    coalesce((SELECT json_agg(n ORDER BY n.id) FROM notes n WHERE n.author_id = a.id), '[]')::json AS notes
FROM authors a
WHERE a.id = @id;
