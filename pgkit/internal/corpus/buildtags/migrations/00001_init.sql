-- +goose Up
CREATE TABLE authors (
    id    bigserial PRIMARY KEY,
    name  text NOT NULL CONSTRAINT authors_name_check CHECK (name <> ''),
    email text NOT NULL CONSTRAINT authors_email_key UNIQUE,
    bio   text,
    born  date
);

CREATE TABLE books (
    id        bigserial PRIMARY KEY,
    author_id bigint NOT NULL CONSTRAINT books_author_id_fkey REFERENCES authors (id),
    title     text NOT NULL
);

-- +goose Down
DROP TABLE books;
DROP TABLE authors;
