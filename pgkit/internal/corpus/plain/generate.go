// Package plain is a conformance corpus package: emit_interface and emit_prepared_queries off, and a table and an enum in a non-public schema, with a foreign key across schemas.
package plain

//go:generate go tool -modfile=../../../../tools/go.mod sqlc generate
//go:generate go run ../../../cmd/pgkitgen
