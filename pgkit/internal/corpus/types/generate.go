// Package types is a conformance corpus package: types pgx knows only once
// registered (enums and their arrays, composites and their arrays,
// domains), decoded identically pooled, multiplexed, in transactions and
// in streams.
package types

//go:generate go tool -modfile=../../../../tools/go.mod sqlc generate
//go:generate go run ../../../cmd/pgkitgen
