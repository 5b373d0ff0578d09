-- +goose Up
CREATE TABLE customers (
    id          uuid PRIMARY KEY,
    email       text NOT NULL CONSTRAINT customers_email_key UNIQUE,
    created_at  timestamptz NOT NULL,
    deleted_at  timestamptz,
    referred_by uuid CONSTRAINT customers_referred_by_fkey REFERENCES customers (id),
    visits      bigint,
    balance     bigint NOT NULL DEFAULT 0
);

CREATE TABLE products (
    id          bigserial PRIMARY KEY,
    customer_id uuid NOT NULL CONSTRAINT products_customer_id_fkey REFERENCES customers (id),
    name        text NOT NULL,
    price_cents bigint NOT NULL CONSTRAINT products_price_cents_check CHECK (price_cents >= 0),
    tax_rate    numeric NOT NULL
);

-- +goose Down
DROP TABLE products;
DROP TABLE customers;
