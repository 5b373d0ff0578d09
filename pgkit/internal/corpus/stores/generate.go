// Package stores is a conformance corpus package: tables, models and queries whose names collide with pgkitgen's defaults (Store, Streamer, streamQuery, pgkitStreamQuery), with emit_interface.
package stores

//go:generate go tool -modfile=../../../../tools/go.mod sqlc generate
//go:generate go run ../../../cmd/pgkitgen
