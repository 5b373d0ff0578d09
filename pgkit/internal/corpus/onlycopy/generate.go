// Package onlycopy is a conformance corpus package: only :copyfrom
// queries, one of several columns and one of a single column (whose
// sqlc method takes a slice of values, not of structs).
package onlycopy

//go:generate go tool -modfile=../../../../tools/go.mod sqlc generate
//go:generate go run ../../../cmd/pgkitgen
