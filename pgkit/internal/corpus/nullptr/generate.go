// Package nullptr is a conformance corpus package:
// emit_pointers_for_null_types, over nullable columns of many types.
package nullptr

//go:generate go tool -modfile=../../../../tools/go.mod sqlc generate
//go:generate go run ../../../cmd/pgkitgen
