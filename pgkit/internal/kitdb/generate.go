// Package kitdb is the typed query layer of pgkit's own tests, generated
// from migrations/ and queries/: sqlc writes the *.sql.go files, models.go,
// querier.go, batch.go and copyfrom.go; pgkitgen writes pgkitgen.go.
// Nothing here but this file and migrations.go is written by hand: change
// the SQL and run go generate.
//
// Its schema is the toolkit's, not any application's: accounts work on
// projects, leave notes on them, and run jobs, which carry tags.
package kitdb

// Regenerate with the sqlc version pinned in tools/go.mod, then pgkitgen's
// additions.
//go:generate go tool -modfile=../../../tools/go.mod sqlc generate -f sqlc.yaml
//go:generate go run ../../cmd/pgkitgen
