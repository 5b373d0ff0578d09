-- +goose Up
CREATE TABLE things (
    id     bigserial PRIMARY KEY,
    uuid   uuid NOT NULL,
    json   jsonb NOT NULL,
    blob   bytea NOT NULL,
    scores integer[] NOT NULL,
    d      integer NOT NULL
);

-- +goose Down
DROP TABLE things;
