-- name: CopyReadings :copyfrom
INSERT INTO readings (sensor, at, kelvin, note)
VALUES ($1, $2, $3, $4);

-- name: CopyWords :copyfrom
INSERT INTO words (word)
VALUES ($1);
