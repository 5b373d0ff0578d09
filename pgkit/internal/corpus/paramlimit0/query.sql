-- name: CreateRoom :one
INSERT INTO rooms (name)
VALUES ($1)
RETURNING *;

-- name: GetRoom :one
SELECT * FROM rooms
WHERE id = $1;

-- name: CountRooms :one
SELECT count(*) FROM rooms;

-- name: ListRooms :many
SELECT * FROM rooms
ORDER BY name;

-- name: ListRoomNamesLike :many
SELECT name FROM rooms
WHERE name LIKE $1
ORDER BY name;

-- name: Book :exec
INSERT INTO bookings (room_id, slots)
VALUES ($1, $2);

-- name: ListBookings :many
SELECT * FROM bookings
WHERE room_id = $1
ORDER BY slots;

-- name: CancelBookings :execrows
DELETE FROM bookings
WHERE room_id = $1;
