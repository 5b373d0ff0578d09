-- +goose Up
CREATE TABLE counters (
    name  text PRIMARY KEY,
    label text CONSTRAINT counters_label_key UNIQUE,
    value bigint NOT NULL DEFAULT 0 CONSTRAINT counters_value_check CHECK (value >= 0)
);

-- +goose Down
DROP TABLE counters;
