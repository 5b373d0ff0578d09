// Package singlecol is a conformance corpus package: single-column :many queries of every common type, columns and parameters named like pgkitgen's locals, and :one queries returning arrays.
package singlecol

//go:generate go tool -modfile=../../../../tools/go.mod sqlc generate
//go:generate go run ../../../cmd/pgkitgen
