// Package paramlimit0 is a conformance corpus package:
// query_parameter_limit 0, where every query with parameters takes a
// Params struct.
package paramlimit0

//go:generate go tool -modfile=../../../../tools/go.mod sqlc generate
//go:generate go run ../../../cmd/pgkitgen
