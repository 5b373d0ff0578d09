-- name: NoteCreate :one
INSERT INTO notes (project_id, account_id, priority, body)
VALUES (@project_id::bigint, @account_id::bigint, @priority::smallint, sqlc.narg('body')::text)
RETURNING *;

-- name: NoteListByProject :many
-- NoteListByProject returns a project's notes newest first. For the next
-- page pass the created_at and note_id of the last note seen; for the first
-- page pass a zero before_note_id.
SELECT * FROM notes
WHERE project_id = @project_id::bigint
    AND (@before_note_id::bigint = 0
        OR (created_at, note_id) < (@before_created_at::timestamptz, @before_note_id::bigint))
ORDER BY created_at DESC, note_id DESC
LIMIT @max::integer;

-- name: NoteListByProjects :batchmany
-- NoteListByProjects queues the newest notes of several projects as one
-- batch.
SELECT * FROM notes
WHERE project_id = @project_id::bigint
ORDER BY created_at DESC, note_id DESC
LIMIT @max::integer;

-- name: NoteStatsByProject :one
SELECT count(*)::bigint AS note_count,
    coalesce(avg(priority), 0)::float8 AS average_priority
FROM notes
WHERE project_id = @project_id::bigint;

-- name: NoteDelete :exec
DELETE FROM notes
WHERE note_id = @note_id::bigint;
