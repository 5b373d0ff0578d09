-- +goose Up
CREATE TABLE readings (
    sensor text NOT NULL,
    at     timestamptz NOT NULL,
    kelvin double precision NOT NULL CONSTRAINT readings_kelvin_check CHECK (kelvin >= 0),
    note   text,
    PRIMARY KEY (sensor, at)
);

CREATE TABLE words (
    word text NOT NULL CONSTRAINT words_word_key UNIQUE
);

-- +goose Down
DROP TABLE words;
DROP TABLE readings;
