-- name: TypeList :many
-- TypeList is the catalog scan: wide rows of pg_type, about 600 of them.
-- The "char" columns are cast to text: sqlc types "char" as interface{}.
SELECT oid, typname, typnamespace, typowner, typlen, typbyval, typtype::text,
    typcategory::text, typispreferred, typisdefined, typdelim::text, typrelid, typelem,
    typarray, typalign::text, typstorage::text, typnotnull, typbasetype, typtypmod, typndims
FROM pg_catalog.pg_type
WHERE typtypmod = @typmod::integer AND typisdefined = @defined::boolean;

-- name: SeriesList :many
-- SeriesList casts its column: sqlc types generate_series's as numeric
-- (pgtype.Numeric, decoded through big.Int) whatever its arguments.
SELECT i::integer AS i FROM generate_series(1, @n::integer) AS i;

-- name: BlobList :many
SELECT blob_id, note, payload FROM bench_blobs ORDER BY blob_id;

-- name: ArrayList :many
SELECT array_id, vals FROM bench_arrays ORDER BY array_id;

-- name: RowCopy :copyfrom
INSERT INTO bench_rows (n, big, label, score, at, opt_n, opt_big, opt_label, opt_flag, opt_at)
VALUES (@n, @big, @label, @score, @at, @opt_n, @opt_big, @opt_label, @opt_flag, @opt_at);

-- name: RowInsert :batchexec
INSERT INTO bench_rows (n, big, label, score, at, opt_n, opt_big, opt_label, opt_flag, opt_at)
VALUES (@n::integer, @big::bigint, @label::text, @score::double precision, @at::timestamptz,
    sqlc.narg('opt_n')::integer, sqlc.narg('opt_big')::bigint, sqlc.narg('opt_label')::text,
    sqlc.narg('opt_flag')::boolean, sqlc.narg('opt_at')::timestamptz);

-- name: OnePlusOne :one
SELECT 1+1 AS two;
