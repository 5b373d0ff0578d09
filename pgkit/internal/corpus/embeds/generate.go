// Package embeds is a conformance corpus package: sqlc.embed over inner joins, sqlc.narg, sqlc.arg, @named parameters and emit_interface.
package embeds

//go:generate go tool -modfile=../../../../tools/go.mod sqlc generate
//go:generate go run ../../../cmd/pgkitgen
