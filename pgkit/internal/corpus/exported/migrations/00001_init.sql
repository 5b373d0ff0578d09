-- +goose Up
CREATE TABLE settings (
    key   text PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE sensors (
    name text PRIMARY KEY,
    unit text NOT NULL
);

CREATE TABLE readings (
    id     bigserial PRIMARY KEY,
    sensor text NOT NULL REFERENCES sensors (name),
    value  double precision NOT NULL
);

-- +goose Down
DROP TABLE readings;
DROP TABLE sensors;
DROP TABLE settings;
