-- +goose Up
CREATE TABLE profiles (
    id       bigserial PRIMARY KEY,
    handle   text NOT NULL,
    nickname text,
    age      integer,
    visits   bigint,
    active   boolean,
    rating   double precision,
    balance  numeric,
    seen_at  timestamptz,
    born     date,
    token    uuid,
    avatar   bytea,
    prefs    jsonb
);

-- +goose Down
DROP TABLE profiles;
