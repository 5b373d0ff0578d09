// Package filenames is a conformance corpus package: every output file
// name option of sqlc (db, models, querier, copyfrom, batch, and the
// suffix of query files), with emit_interface and queries in two files, so
// that every file sqlc can emit is emitted under a name of its own.
package filenames

//go:generate go tool -modfile=../../../../tools/go.mod sqlc generate
//go:generate go run ../../../cmd/pgkitgen
