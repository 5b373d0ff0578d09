-- +goose Up
CREATE TABLE authors (
    id    bigserial PRIMARY KEY,
    name  text NOT NULL,
    bio   text
);

CREATE TABLE books (
    id        bigserial PRIMARY KEY,
    author_id bigint NOT NULL CONSTRAINT books_author_id_fkey REFERENCES authors (id),
    title     text NOT NULL,
    subtitle  text,
    price     numeric,
    cover     bytea,
    added_at  timestamptz NOT NULL DEFAULT now(),
    published date
);

CREATE TABLE notes (
    id         bigserial PRIMARY KEY,
    author_id  bigint NOT NULL REFERENCES authors (id),
    body       text NOT NULL,
    amount     numeric NOT NULL,
    raw        bytea,
    written_at timestamptz NOT NULL,
    seen_at    timestamptz
);

-- +goose Down
DROP TABLE notes;
DROP TABLE books;
DROP TABLE authors;
