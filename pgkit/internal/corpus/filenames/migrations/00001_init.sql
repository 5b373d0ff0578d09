-- +goose Up
CREATE TABLE items (
    id   bigserial PRIMARY KEY,
    sku  text NOT NULL CONSTRAINT items_sku_key UNIQUE,
    name text NOT NULL,
    qty  integer NOT NULL DEFAULT 0 CONSTRAINT items_qty_check CHECK (qty >= 0)
);

CREATE TABLE loads (
    id      bigserial PRIMARY KEY,
    item_id bigint NOT NULL CONSTRAINT loads_item_id_fkey REFERENCES items (id),
    qty     integer NOT NULL,
    note    text
);

-- +goose Down
DROP TABLE loads;
DROP TABLE items;
