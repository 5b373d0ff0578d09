-- +goose Up
CREATE TABLE stores (
    id   bigserial PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE streamers (
    id        bigserial PRIMARY KEY,
    store_id  bigint NOT NULL REFERENCES stores (id),
    handle    text NOT NULL,
    followers integer CONSTRAINT streamers_followers_check CHECK (followers >= 0)
);

-- +goose Down
DROP TABLE streamers;
DROP TABLE stores;
