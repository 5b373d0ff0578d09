package kitdb

import (
	"embed"
	"io/fs"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the goose migrations of kitdb's schema
// (00001_init.sql, …) at the root of an fs.FS, as pgkittest.New and
// goose.NewProvider take them.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the directory is embedded: it exists
	}
	return sub
}
