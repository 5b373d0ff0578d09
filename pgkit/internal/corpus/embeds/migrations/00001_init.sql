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
    published date
);

-- +goose Down
DROP TABLE books;
DROP TABLE authors;
