// Package schema embeds shopdb's goose migrations, so that the migrate
// package, the migrate command and tests apply exactly the files in this
// folder. The same files work with the upstream goose CLI:
//
//	goose -dir schema postgres "$DATABASE_URL" up
package schema

import (
	"embed"
	"io/fs"
)

//go:embed *.sql
var files embed.FS

// FS returns the migration files (00001_users.sql, …) at the root of an
// fs.FS, ready for goose.NewProvider.
func FS() fs.FS { return files }
