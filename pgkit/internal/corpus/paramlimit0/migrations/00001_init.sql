-- +goose Up
CREATE TABLE rooms (
    id   bigserial PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE bookings (
    id      bigserial PRIMARY KEY,
    room_id bigint NOT NULL REFERENCES rooms (id),
    slots   int4range NOT NULL,
    CONSTRAINT bookings_slots_excl EXCLUDE USING gist (slots WITH &&)
);

-- +goose Down
DROP TABLE bookings;
DROP TABLE rooms;
