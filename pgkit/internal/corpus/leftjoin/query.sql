-- name: CreateAuthor :one
INSERT INTO authors (name, bio) VALUES (@name, sqlc.narg('bio')) RETURNING *;

-- name: CreateBook :one
INSERT INTO books (author_id, title, rating, written_at)
VALUES (@author_id, @title, sqlc.narg('rating'), sqlc.narg('written_at'))
RETURNING *;

-- name: CreateProfile :exec
INSERT INTO profiles (author_id, website, since) VALUES (@author_id, sqlc.narg('website'), sqlc.narg('since'));

-- name: CreatePenName :one
INSERT INTO pen_names (author_id, pen_name) VALUES (sqlc.narg('author_id'), @pen_name) RETURNING *;

-- name: CreateEmployee :one
INSERT INTO employees (name, manager_id) VALUES (@name, sqlc.narg('manager_id')) RETURNING *;

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

-- name: BookTitlesByAuthor :many
-- A column beside an embed of the nullable side (sqlc #3240: the joined
-- row is missing).
SELECT authors.name, sqlc.embed(books)
FROM authors
LEFT JOIN books ON books.author_id = authors.id AND books.rating >= @min_rating
ORDER BY authors.id, books.id;

-- name: AuthorProfile :one
SELECT sqlc.embed(authors), sqlc.embed(profiles)
FROM authors
LEFT JOIN profiles ON profiles.author_id = authors.id
WHERE authors.id = @id;

-- name: EmployeesWithManagers :many
-- A self-join: two embeds of one table under aliases.
SELECT sqlc.embed(e), sqlc.embed(m)
FROM employees e
LEFT JOIN employees m ON m.id = e.manager_id
ORDER BY e.id;

-- name: PenNamesWithAuthors :many
SELECT sqlc.embed(authors), sqlc.embed(pen_names)
FROM authors
RIGHT JOIN pen_names ON pen_names.author_id = authors.id
ORDER BY pen_names.id;

-- name: AuthorsAndPenNames :many
SELECT sqlc.embed(authors), sqlc.embed(pen_names)
FROM authors
FULL JOIN pen_names ON pen_names.author_id = authors.id
ORDER BY authors.id NULLS LAST, pen_names.id NULLS LAST;

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

-- name: AuthorsWithBio :many
-- pgkit:notnull bio
-- AuthorsWithBio lists the authors who have a bio: sqlc's row is the
-- model Author (Bio pgtype.Text); the override gives a row of its own.
SELECT * FROM authors WHERE bio IS NOT NULL ORDER BY id;

-- name: AuthorsWithBooksBatch :batchmany
-- AuthorsWithBooksBatch lists, for each author id, the author with each
-- of their books: a book-less author once with no book (a LEFT JOIN
-- embed in a batch, inferred nullable).
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

-- name: RatedTitlesBatch :batchmany
-- pgkit:notnull title rating
-- RatedTitlesBatch: column overrides in a batch with a Params struct.
SELECT authors.name, books.title, books.rating
FROM authors
LEFT JOIN books ON books.author_id = authors.id
WHERE authors.id = @author_id AND books.rating >= @min_rating
ORDER BY books.id;

-- name: AnyRatedBatch :batchone
-- pgkit:nullable any_rated
SELECT bool_or(rating IS NOT NULL) AS any_rated
FROM books
WHERE author_id = @author_id;
