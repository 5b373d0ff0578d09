-- name: JobCreate :one
INSERT INTO jobs (account_id, state, cost_cents)
VALUES (@account_id::bigint, @state::job_state, @cost_cents::bigint)
RETURNING *;

-- name: JobListByAccount :many
-- JobListByAccount returns an account's jobs newest first. For the next
-- page pass the created_at and job_id of the last job seen; for the first
-- page pass a zero before_job_id.
SELECT * FROM jobs
WHERE account_id = @account_id::bigint
    AND (@before_job_id::bigint = 0
        OR (created_at, job_id) < (@before_created_at::timestamptz, @before_job_id::bigint))
ORDER BY created_at DESC, job_id DESC
LIMIT @max::integer;

-- name: JobListByState :many
-- JobListByState returns the oldest jobs in a state, after_job_id being the
-- last job_id of the previous page (0 for the first page).
SELECT * FROM jobs
WHERE state = @state::job_state
    AND job_id > @after_job_id::bigint
ORDER BY job_id
LIMIT @max::integer;

-- name: JobExport :many
-- JobExport returns every job created in [since, until) in id order;
-- JobExportStream yields the same rows one at a time.
SELECT * FROM jobs
WHERE created_at >= @since::timestamptz AND created_at < @until::timestamptz
ORDER BY job_id;

-- name: JobTagAdd :batchexec
-- JobTagAdd queues one tag of a job; sent as a batch, all tags of a job go
-- in one round trip.
INSERT INTO job_tags (job_id, tag)
VALUES (@job_id::bigint, @tag::text);
