//go:build !pgkit_nocorpus

// Package buildtags is a conformance corpus package: sqlc's build_tags and
// the options that change only names, tags and comments.
package buildtags

//go:generate go tool -modfile=../../../../tools/go.mod sqlc generate
//go:generate go run ../../../cmd/pgkitgen
