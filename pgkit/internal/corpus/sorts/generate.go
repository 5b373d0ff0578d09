// Package sorts is a conformance corpus package: typed sort orders (one static statement per order, chosen by a generated enum), without emit_interface.
package sorts

//go:generate go run ../../../cmd/pgkitgen expand -from . -to sql
//go:generate go tool -modfile=../../../../tools/go.mod sqlc generate
//go:generate go run ../../../cmd/pgkitgen
