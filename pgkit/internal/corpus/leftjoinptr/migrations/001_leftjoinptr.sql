-- +goose Up
CREATE TABLE authors (
    id   bigserial PRIMARY KEY,
    name text NOT NULL,
    bio  text
);

CREATE TABLE books (
    id         bigserial PRIMARY KEY,
    author_id  bigint NOT NULL REFERENCES authors (id),
    title      text NOT NULL,
    rating     int4,
    written_at timestamptz
);

-- Every column but the key nullable: a profile row whose columns are all
-- NULL is still a profile.
CREATE TABLE profiles (
    author_id bigint PRIMARY KEY REFERENCES authors (id),
    website   text,
    since     date
);

-- A pen name may be nobody's yet (author_id NULL): the other side of a
-- RIGHT and a FULL join.
CREATE TABLE pen_names (
    id        bigserial PRIMARY KEY,
    author_id bigint REFERENCES authors (id),
    pen_name  text NOT NULL
);

CREATE TABLE employees (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL,
    manager_id bigint REFERENCES employees (id)
);

-- +goose Down
DROP TABLE employees;
DROP TABLE pen_names;
DROP TABLE profiles;
DROP TABLE books;
DROP TABLE authors;
