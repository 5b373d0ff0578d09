-- +goose Up
CREATE TABLE items (
    id     bigserial PRIMARY KEY,
    name   text NOT NULL CONSTRAINT items_name_key UNIQUE,
    scores integer[] CONSTRAINT items_scores_check CHECK (cardinality(scores) <= 5),
    labels text[],
    doc    json,
    meta   jsonb,
    body   text,
    blob   bytea
);

-- +goose Down
DROP TABLE items;
