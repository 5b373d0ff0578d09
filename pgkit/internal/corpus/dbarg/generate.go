// Package dbarg is a conformance corpus package:
// emit_methods_with_db_argument with emit_interface, and :copyfrom and
// :batchexec queries taking the DB.
package dbarg

//go:generate go tool -modfile=../../../../tools/go.mod sqlc generate
//go:generate go run ../../../cmd/pgkitgen
