-- +goose Up
CREATE SCHEMA inventory;

CREATE TABLE suppliers (
    id   bigserial PRIMARY KEY,
    name text NOT NULL
);

CREATE TYPE inventory.status AS ENUM ('active', 'retired');

CREATE TABLE inventory.items (
    id          bigserial PRIMARY KEY,
    supplier_id bigint NOT NULL CONSTRAINT items_supplier_id_fkey REFERENCES public.suppliers (id),
    sku         text NOT NULL,
    qty         integer NOT NULL,
    status      inventory.status NOT NULL DEFAULT 'active',
    note        text
);

-- +goose Down
DROP TABLE inventory.items;
DROP TYPE inventory.status;
DROP TABLE suppliers;
DROP SCHEMA inventory;
