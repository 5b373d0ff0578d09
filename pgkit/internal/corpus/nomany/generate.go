// Package nomany is a conformance corpus package: only :one, :exec and
// :execrows queries, so pgkitgen adds no stream and must not import iter.
package nomany

//go:generate go tool -modfile=../../../../tools/go.mod sqlc generate
//go:generate go run ../../../cmd/pgkitgen
