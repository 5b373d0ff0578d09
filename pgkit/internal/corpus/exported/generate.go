// Package exported is a conformance corpus package: emit_exported_queries,
// with a query named Store.
package exported

//go:generate go tool -modfile=../../../../tools/go.mod sqlc generate
//go:generate go run ../../../cmd/pgkitgen
