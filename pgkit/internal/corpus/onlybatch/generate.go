// Package onlybatch is a conformance corpus package: only :batchexec,
// :batchone and :batchmany queries, so pgkitgen adds no stream and its
// file must import only what its Store uses.
package onlybatch

//go:generate go tool -modfile=../../../../tools/go.mod sqlc generate
//go:generate go run ../../../cmd/pgkitgen
