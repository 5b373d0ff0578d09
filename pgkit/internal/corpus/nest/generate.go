// Package nest is a conformance corpus package: one-to-many in one
// statement (pgkitgen's -- pgkit:nest and -- pgkit:json), with
// emit_interface and emit_json_tags (snake).
package nest

//go:generate go run ../../../cmd/pgkitgen expand -from . -to sql
//go:generate go tool -modfile=../../../../tools/go.mod sqlc generate
//go:generate go run ../../../cmd/pgkitgen
