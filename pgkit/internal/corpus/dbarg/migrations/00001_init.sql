-- +goose Up
CREATE TABLE teams (
    id   bigserial PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE members (
    id      bigserial PRIMARY KEY,
    team_id bigint NOT NULL CONSTRAINT members_team_id_fkey REFERENCES teams (id),
    name    text NOT NULL,
    score   integer NOT NULL DEFAULT 0
);

-- +goose Down
DROP TABLE members;
DROP TABLE teams;
