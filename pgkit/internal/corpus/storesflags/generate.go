// Package storesflags is a conformance corpus package: models named Store and Streamer, with pgkitgen's -store and -streamer flags naming its interfaces Repo and RowStreamer.
package storesflags

//go:generate go tool -modfile=../../../../tools/go.mod sqlc generate
//go:generate go run ../../../cmd/pgkitgen -store=Repo -streamer=RowStreamer
