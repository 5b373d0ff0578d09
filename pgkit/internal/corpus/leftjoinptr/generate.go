// Package leftjoinptr is a conformance corpus package: nullable embeds,
// column overrides, pgkit:nest and pgkit:json under
// emit_pointers_for_null_types and emit_result_struct_pointers, without
// emit_interface.
package leftjoinptr

//go:generate go run ../../../cmd/pgkitgen expand -from . -to sql
//go:generate go tool -modfile=../../../../tools/go.mod sqlc generate
//go:generate go run ../../../cmd/pgkitgen
