-- name: GetPlot :one
SELECT * FROM plots
WHERE id = $1;

-- name: CreatePlot :one
INSERT INTO plots (farm, row_no, crop, yield)
VALUES ($1, $2, $3, $4)
RETURNING *;

-- name: CreateNotedPlot :one
INSERT INTO plots (farm, row_no, crop, yield, note)
VALUES ($1, $2, $3, $4, $5)
RETURNING *;

-- name: SetYield :exec
UPDATE plots SET yield = $3
WHERE farm = $1 AND row_no = $2;

-- name: ListPlotsOfCrop :many
SELECT * FROM plots
WHERE farm = $1 AND crop = $2 AND yield >= @yield
ORDER BY row_no;

-- name: ListYields :many
SELECT yield FROM plots
WHERE farm = $1 AND row_no BETWEEN @first_row AND @last_row AND yield >= @yield
ORDER BY row_no;

-- name: ListPlotsIn :many
SELECT * FROM plots
WHERE farm = @farm
  AND row_no BETWEEN @first_row AND @last_row
  AND yield BETWEEN @min_yield AND @max_yield
ORDER BY row_no;

-- name: CopyPlots :copyfrom
INSERT INTO plots (farm, row_no, crop, yield)
VALUES ($1, $2, $3, $4);

-- name: ListPlotsNamedLikeLocals :many
SELECT * FROM plots
WHERE farm = @i AND row_no BETWEEN @dest::integer AND @blank::integer AND yield >= @kept::integer
ORDER BY row_no;
