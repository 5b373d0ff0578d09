-- +goose Up
CREATE EXTENSION IF NOT EXISTS citext;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
CREATE DOMAIN email AS text CHECK (VALUE LIKE '%@%');
CREATE TYPE pair AS (a integer, b text);

CREATE TABLE things (
    id bigserial PRIMARY KEY,
    i2 smallint,
    i4 integer,
    i8 bigint,
    f4 real,
    f8 double precision,
    b boolean,
    t text,
    vc varchar(20),
    bp char(3),
    nm name,
    qc "char",
    ci citext,
    by bytea,
    ts timestamptz,
    tsn timestamp,
    d date,
    u uuid,
    j json,
    jb jsonb,
    n numeric,
    m money,
    ip inet,
    iv interval,
    r int4range,
    a4 integer[],
    a8 bigint[],
    at text[],
    ab boolean[],
    af double precision[],
    md mood,
    dm posint,
    de email,
    o oid
);

CREATE TABLE strict (
    id bigserial PRIMARY KEY,
    i4 integer NOT NULL,
    i8 bigint NOT NULL,
    t text NOT NULL,
    by bytea NOT NULL,
    ts timestamptz NOT NULL,
    u uuid NOT NULL,
    b boolean NOT NULL,
    f8 double precision NOT NULL,
    d date NOT NULL,
    a4 integer[] NOT NULL,
    at text[] NOT NULL,
    jb jsonb NOT NULL
);

-- +goose Down
DROP TABLE strict;
DROP TABLE things;
DROP TYPE pair;
DROP DOMAIN email;
DROP DOMAIN posint;
DROP TYPE mood;
