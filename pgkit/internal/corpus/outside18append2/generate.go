// Package outside18append2 is a conformance corpus package: …Append and
// streams of sqlc's :many whose names and types meet pgkitgen's locals.
package outside18append2

//go:generate go tool -modfile=../../../../tools/go.mod sqlc generate
//go:generate go run ../../../cmd/pgkitgen
