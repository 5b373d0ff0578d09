-- +goose Up
CREATE TABLE tags (
    id     bigserial PRIMARY KEY,
    name   text NOT NULL CONSTRAINT tags_name_key UNIQUE,
    weight integer NOT NULL CONSTRAINT tags_weight_check CHECK (weight > 0),
    note   text
);

CREATE TABLE aliases (
    tag_id bigint NOT NULL CONSTRAINT aliases_tag_id_fkey REFERENCES tags (id),
    alias  text NOT NULL,
    PRIMARY KEY (tag_id, alias)
);

-- +goose Down
DROP TABLE aliases;
DROP TABLE tags;
