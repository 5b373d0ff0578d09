// Package leftjoin is a conformance corpus package: nullable embeds of LEFT, RIGHT and FULL joins and result-column nullability overrides (pgkitgen's public methods of hidden queries), with pgtype and emit_interface.
package leftjoin

//go:generate go run ../../../cmd/pgkitgen expand -from . -to sql
//go:generate go tool -modfile=../../../../tools/go.mod sqlc generate
//go:generate go run ../../../cmd/pgkitgen
