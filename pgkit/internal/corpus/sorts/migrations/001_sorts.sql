-- +goose Up
CREATE TABLE products (
    id   bigserial PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE reviews (
    id         bigserial PRIMARY KEY,
    product_id bigint NOT NULL REFERENCES products (id),
    rating     int4 NOT NULL CHECK (rating BETWEEN 1 AND 5),
    body       text NOT NULL,
    created_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE reviews;
DROP TABLE products;
