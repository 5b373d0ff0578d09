// Package opt is a conformance corpus package: zero-or-one (:opt) methods returning (Row, bool, error), under emit_methods_with_db_argument and emit_interface.
package opt

//go:generate go run ../../../cmd/pgkitgen expand -from . -to sql
//go:generate go tool -modfile=../../../../tools/go.mod sqlc generate
//go:generate go run ../../../cmd/pgkitgen
