// Package arrays is a conformance corpus package: array parameters and results, json and jsonb, and 1 MB text and bytea values.
package arrays

//go:generate go tool -modfile=../../../../tools/go.mod sqlc generate
//go:generate go run ../../../cmd/pgkitgen
