-- name: ProjectCreate :one
INSERT INTO projects (slug, name, description, rate_cents, credits)
VALUES (@slug::text, @name::text, sqlc.narg('description')::text, @rate_cents::bigint, @credits::integer)
RETURNING *;

-- name: ProjectGetByID :one
SELECT * FROM projects
WHERE project_id = @project_id::bigint;

-- name: ProjectAdjustCredits :one
-- ProjectAdjustCredits adds delta (negative to spend) and returns the new
-- credits. Spending more than there is fails with projects_credits_check.
UPDATE projects
SET credits = credits + @delta::integer
WHERE project_id = @project_id::bigint
RETURNING credits;

-- name: ProjectUpdateRate :execrows
UPDATE projects
SET rate_cents = @rate_cents::bigint
WHERE project_id = @project_id::bigint;

-- name: ProjectLockForJob :many
-- ProjectLockForJob locks the given projects FOR UPDATE in project_id
-- order, the order that keeps concurrent lockers from deadlocking.
SELECT project_id, rate_cents, credits
FROM projects
WHERE project_id = ANY(@project_ids::bigint[])
ORDER BY project_id
FOR UPDATE;

-- name: ProjectSpendCredits :execrows
-- ProjectSpendCredits takes amounts[i] credits of project_ids[i], all in
-- one statement.
UPDATE projects AS p
SET credits = p.credits - t.amount
FROM (SELECT unnest(@project_ids::bigint[]) AS project_id, unnest(@amounts::integer[]) AS amount) AS t
WHERE p.project_id = t.project_id;
