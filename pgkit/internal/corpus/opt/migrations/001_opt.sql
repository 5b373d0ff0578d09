-- +goose Up
CREATE TABLE teams (
    id   bigserial PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE users (
    id       bigserial PRIMARY KEY,
    email    text NOT NULL CONSTRAINT users_email_key UNIQUE,
    nickname text CONSTRAINT users_nickname_key UNIQUE,
    team_id  bigint REFERENCES teams (id)
);

-- +goose Down
DROP TABLE users;
DROP TABLE teams;
