-- name: CreateAuthor :one
INSERT INTO authors (name, bio) VALUES (@name, sqlc.narg('bio')) RETURNING *;

-- name: CreateBook :one
INSERT INTO books (author_id, title, rating, written_at)
VALUES (@author_id, @title, sqlc.narg('rating'), sqlc.narg('written_at'))
RETURNING *;

-- name: CreateProfile :exec
INSERT INTO profiles (author_id, website, since) VALUES (@author_id, sqlc.narg('website'), sqlc.narg('since'));

-- name: AuthorWithBook :one
-- AuthorWithBook is an author and their first book, if any (sqlc #2348:
-- an embed of the LEFT JOINed table).
SELECT sqlc.embed(authors), sqlc.embed(books)
FROM authors
LEFT JOIN books ON books.author_id = authors.id
WHERE authors.id = @id
ORDER BY books.id
LIMIT 1;

-- name: AuthorsWithBooks :many
-- AuthorsWithBooks lists every author with each of their books, a
-- book-less author once with no book (sqlc #2997, :many).
SELECT sqlc.embed(authors), sqlc.embed(books)
FROM authors
LEFT JOIN books ON books.author_id = authors.id
ORDER BY authors.id, books.id;

-- name: AuthorProfile :one
SELECT sqlc.embed(authors), sqlc.embed(profiles)
FROM authors
LEFT JOIN profiles ON profiles.author_id = authors.id
WHERE authors.id = @id;

-- name: AuthorStats :one
-- pgkit:nullable last_written any_rated
-- AuthorStats aggregates an author's books: over none, max and bool_or
-- are NULL, which sqlc does not know.
SELECT count(id) AS books,
       max(written_at)::timestamptz AS last_written,
       bool_or(rating IS NOT NULL) AS any_rated
FROM books
WHERE author_id = @author_id;

-- name: RatedTitles :many
-- pgkit:notnull title rating
SELECT authors.name, books.title, books.rating
FROM authors
LEFT JOIN books ON books.author_id = authors.id
WHERE books.rating IS NOT NULL
ORDER BY books.id;

-- name: AuthorFind :opt
SELECT * FROM authors WHERE id = @id;

-- name: AuthorsWithBooksBatch :batchmany
-- AuthorsWithBooksBatch lists, for each author id, the author with each
-- of their books: a book-less author once with no book.
SELECT sqlc.embed(authors), sqlc.embed(books)
FROM authors
LEFT JOIN books ON books.author_id = authors.id
WHERE authors.id = @id
ORDER BY books.id;

-- name: AuthorWithBookBatch :batchone
SELECT sqlc.embed(authors), sqlc.embed(books)
FROM authors
LEFT JOIN books ON books.author_id = authors.id
WHERE authors.id = @id
ORDER BY books.id
LIMIT 1;

-- name: AuthorsNested :many
-- pgkit:nest books
-- AuthorsNested lists every author with their books (pgkit:nest under
-- emit_result_struct_pointers: []*AuthorsNestedRow).
SELECT sqlc.embed(authors), sqlc.embed(books)
FROM authors
LEFT JOIN books ON books.author_id = authors.id
ORDER BY authors.id, books.id;

-- name: AuthorNested :one
-- pgkit:nest books
SELECT sqlc.embed(authors), sqlc.embed(books)
FROM authors
LEFT JOIN books ON books.author_id = authors.id
WHERE authors.id = @id
ORDER BY books.id;

-- name: AuthorNestedFind :opt
-- pgkit:nest books
SELECT sqlc.embed(authors), sqlc.embed(books)
FROM authors
LEFT JOIN books ON books.author_id = authors.id
WHERE authors.id = @id
ORDER BY books.id;

-- name: AuthorTitlesJSON :one
-- pgkit:json titles Title
SELECT a.id, coalesce((SELECT json_agg(json_build_object('title', b.title) ORDER BY b.id) FROM books b WHERE b.author_id = a.id), '[]')::json AS titles
FROM authors a
WHERE a.id = @id;
