-- UserList filters by a prefix of the last name (starts_with). This index
-- is built CONCURRENTLY, outside a transaction (goose's NO TRANSACTION), so
-- that writes to users go on while it builds: the way to add an index to a
-- large live table. IF NOT EXISTS lets an interrupted run be repeated; a
-- concurrent build that failed leaves an INVALID index behind, which must
-- be dropped before running again.
-- +goose NO TRANSACTION

-- +goose Up
CREATE INDEX CONCURRENTLY IF NOT EXISTS users_last_name_idx ON users (last_name text_pattern_ops);

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS users_last_name_idx;
