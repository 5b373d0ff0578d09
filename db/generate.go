// Package db is the typed query layer generated from ../schema and
// ../queries: pgkitgen expand writes sql/*.sql (the queries as plain sqlc
// SQL), sqlc compiles them into the *.sql.go files, models.go, querier.go,
// batch.go and copyfrom.go; pgkitgen writes pgkitgen.go (a …Stream method
// for every :many query, a …Seq method for every :copyfrom query, Store).
// Nothing here is edited by hand: change the SQL and run go generate ./...
package db

// Regenerate the typed query layer: pgkitgen expand writes sql/ from the
// annotated ../queries, the sqlc version pinned in ../tools/go.mod
// compiles it, then pgkitgen adds its methods.
//go:generate go run ../pgkit/cmd/pgkitgen expand -from ../queries -to sql
//go:generate go tool -modfile=../tools/go.mod sqlc generate -f ../sqlc.yaml
//go:generate go run ../pgkit/cmd/pgkitgen
