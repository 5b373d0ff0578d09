-- name: InsertTag :batchone
INSERT INTO tags (name, weight, note)
VALUES ($1, $2, $3)
RETURNING *;

-- name: GetTag :batchone
SELECT * FROM tags
WHERE id = $1;

-- name: GetTagName :batchone
SELECT name FROM tags
WHERE id = $1;

-- name: AddAlias :batchexec
INSERT INTO aliases (tag_id, alias)
VALUES ($1, $2);

-- name: DeleteAliases :batchexec
DELETE FROM aliases
WHERE tag_id = $1;

-- name: ListAliases :batchmany
SELECT alias FROM aliases
WHERE tag_id = $1
ORDER BY alias;

-- name: ListTagsHeavierThan :batchmany
SELECT * FROM tags
WHERE weight > $1
ORDER BY weight, name;
