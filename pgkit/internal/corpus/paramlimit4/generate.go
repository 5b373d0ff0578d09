// Package paramlimit4 is a conformance corpus package:
// query_parameter_limit 4, where queries take up to four positional
// parameters.
package paramlimit4

//go:generate go tool -modfile=../../../../tools/go.mod sqlc generate
//go:generate go run ../../../cmd/pgkitgen
