-- +goose Up
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TYPE address AS (street text, city text);
CREATE DOMAIN email AS text CONSTRAINT email_check CHECK (VALUE LIKE '%_@_%');

CREATE TABLE people (
    id        bigserial PRIMARY KEY,
    name      text NOT NULL,
    mood      mood NOT NULL,
    moods     mood[] NOT NULL DEFAULT '{}',
    last_mood mood,
    email     email NOT NULL,
    home      address,
    past      address[] NOT NULL DEFAULT '{}'
);

-- +goose Down
DROP TABLE people;
DROP DOMAIN email;
DROP TYPE address;
DROP TYPE mood;
