// Package renames is a conformance corpus package: rename (columns to Go
// field names, a table to a struct name), column-specific overrides (a Go
// type and a struct tag), and JSON tags in snake case.
package renames

//go:generate go tool -modfile=../../../../tools/go.mod sqlc generate
//go:generate go run ../../../cmd/pgkitgen
