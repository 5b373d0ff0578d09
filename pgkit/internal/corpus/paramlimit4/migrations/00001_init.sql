-- +goose Up
CREATE TABLE plots (
    id     bigserial PRIMARY KEY,
    farm   text NOT NULL,
    row_no integer NOT NULL,
    crop   text NOT NULL,
    yield  integer NOT NULL,
    note   text,
    CONSTRAINT plots_farm_row_no_key UNIQUE (farm, row_no)
);

-- +goose Down
DROP TABLE plots;
