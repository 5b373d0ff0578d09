-- +goose Up
CREATE TABLE vals (
    id     serial PRIMARY KEY,
    grp    integer NOT NULL,
    big    bigint NOT NULL,
    label  text NOT NULL,
    flag   boolean NOT NULL,
    amount numeric NOT NULL,
    day    date NOT NULL,
    tags   text[] NOT NULL,
    nums   integer[] NOT NULL,
    note   text,
    yield  text NOT NULL,
    zero   integer NOT NULL,
    err    text NOT NULL DEFAULT ''
);

-- +goose Down
DROP TABLE vals;
