// Package authors is a conformance corpus package: sqlc's defaults.
package authors

//go:generate go tool -modfile=../../../../tools/go.mod sqlc generate
//go:generate go run ../../../cmd/pgkitgen
