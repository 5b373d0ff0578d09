// Package benchdb is the typed query layer of the benchmarks taken from
// asyncpg's suite (bench/asyncpgsuite.go), generated from schema/ and queries/ with
// shopdb's sqlc options: sqlc writes the *.sql.go files, models.go,
// querier.go, batch.go and copyfrom.go; pgkitgen writes pgkitgen.go.
// Nothing here but this file and schema.go is written by hand: change the
// SQL and run go generate in bench/.
package benchdb

// Regenerate with the sqlc version pinned in tools/go.mod, then pgkitgen's
// additions (run in the main module, ../.., whose go.sum covers its dependencies).
//go:generate go tool -modfile=../../tools/go.mod sqlc generate -f sqlc.yaml
//go:generate go run -C ../.. ./pgkit/cmd/pgkitgen -dir bench/benchdb
