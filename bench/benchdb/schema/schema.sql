-- The tables of the benchmarks taken from asyncpg's suite. The bench
-- creates them (Schema) and fills bench_blobs and bench_arrays; bench_rows
-- is where COPY and the batch insert write, emptied before each run.

-- bench_blobs: large rows, a 1 KiB text and a 4 KiB bytea each.
CREATE TABLE bench_blobs (
    blob_id integer PRIMARY KEY,
    note    text    NOT NULL,
    payload bytea   NOT NULL
);

-- bench_arrays: rows of 100 integers each.
CREATE TABLE bench_arrays (
    array_id integer   PRIMARY KEY,
    vals     integer[] NOT NULL
);

-- bench_rows: ten columns, five NOT NULL and five nullable (pointers in
-- the generated parameters, as emit_pointers_for_null_types makes them).
CREATE TABLE bench_rows (
    n         integer          NOT NULL,
    big       bigint           NOT NULL,
    label     text             NOT NULL,
    score     double precision NOT NULL,
    at        timestamptz      NOT NULL,
    opt_n     integer,
    opt_big   bigint,
    opt_label text,
    opt_flag  boolean,
    opt_at    timestamptz
);
