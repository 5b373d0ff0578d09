-- +goose Up
CREATE TABLE widget_parts (
    id         bigserial PRIMARY KEY,
    part_code  text NOT NULL CONSTRAINT widget_parts_part_code_key UNIQUE,
    spec       json NOT NULL,
    extra_meta jsonb
);

-- +goose Down
DROP TABLE widget_parts;
