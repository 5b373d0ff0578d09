-- +goose Up
CREATE TABLE products (
    id          bigserial PRIMARY KEY,
    sku         text NOT NULL UNIQUE,
    price_cents integer NOT NULL CONSTRAINT products_price_cents_check CHECK (price_cents >= 0),
    stock       integer NOT NULL DEFAULT 0
);

-- +goose Down
DROP TABLE products;
