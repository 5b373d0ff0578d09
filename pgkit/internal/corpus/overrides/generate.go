// Package overrides is a conformance corpus package: type overrides by
// database type and by column, to a third-party type (uuid), the standard
// library (time.Time, *time.Time with pointer), pgtype, a type of the same
// package and one of another package under an import alias, and
// positional parameters of those types (query_parameter_limit).
package overrides

//go:generate go tool -modfile=../../../../tools/go.mod sqlc generate
//go:generate go run ../../../cmd/pgkitgen
