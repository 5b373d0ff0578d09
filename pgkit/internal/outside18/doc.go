// Package outside18 is an outside reviewer's test-only sqlc project (issue
// 18): two sqlc packages over one schema (val: sqlc's defaults; ptr:
// emit_pointers_for_null_types with overrides), used to attack
// pgkit.Config.Decoders and the pushed COPY of CopyFromSeq and …Seq.
package outside18

//go:generate go tool -modfile=../../../tools/go.mod sqlc generate
//go:generate go run ../../cmd/pgkitgen -dir val
//go:generate go run ../../cmd/pgkitgen -dir ptr

import (
	"embed"
	"io/fs"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the goose migrations of the package's schema.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embedded directory exists
	}
	return sub
}
