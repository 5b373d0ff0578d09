// Package ptrs is a conformance corpus package: emit_result_struct_pointers
// and emit_params_struct_pointers, with :copyfrom and :batchone queries.
package ptrs

//go:generate go tool -modfile=../../../../tools/go.mod sqlc generate
//go:generate go run ../../../cmd/pgkitgen
