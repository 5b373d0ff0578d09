-- +goose Up
CREATE TABLE stores (
    id   bigserial PRIMARY KEY,
    name text NOT NULL CONSTRAINT stores_name_key UNIQUE,
    city text
);

CREATE TABLE streamers (
    id        bigserial PRIMARY KEY,
    store_id  bigint NOT NULL REFERENCES stores (id),
    handle    text NOT NULL,
    followers integer NOT NULL DEFAULT 0
);

-- +goose Down
DROP TABLE streamers;
DROP TABLE stores;
