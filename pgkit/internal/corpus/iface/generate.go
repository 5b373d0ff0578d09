// Package iface is a conformance corpus package: emit_interface,
// emit_json_tags (camel case), emit_empty_slices and emit_exact_table_names,
// with a bigint[] parameter and json and jsonb columns.
package iface

//go:generate go tool -modfile=../../../../tools/go.mod sqlc generate
//go:generate go run ../../../cmd/pgkitgen
