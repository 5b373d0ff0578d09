package db

// Regenerate the typed query layer from ../schema and ../queries with the
// sqlc version pinned in ../tools/go.mod.
//go:generate go tool -modfile=../tools/go.mod sqlc generate -f ../sqlc.yaml
