// Package mux multiplexes autocommit statements of any number of
// goroutines over a few pooled connections, pipelined. pgx has explicit
// batches only (pgx #1091 and #1113 ask for this), so it is written here,
// on pgx's exported pieces: pgconn's ReceiveMessage for reading,
// pgproto3's message encoders for writing (pgconn's Pipeline type keeps a
// container/list per request, a quarter of the allocations when
// measured), pgx.ExtendedQueryBuilder for the arguments, pgtype's scan
// plans for decoding.
//
// A lane is one pooled connection with two goroutines: one writes what
// the lane encoded, the other takes statements from the queue, encodes
// them and reads the results back in order. Reading never waits for
// writing, so a server blocked sending results is always read (a lane
// that wrote megabytes of arguments while megabytes of results came back
// used to deadlock). Every statement is followed by its own Sync, so each
// runs in its own implicit transaction: one caller's failure never
// touches another's. Rows are copied out of the connection's buffer as
// they arrive, so the lane never waits for a caller to read them.
//
// The files, by job: mux.go (the Mux, its configuration and counters),
// admit.go (callers: admission, waiting, answers), lane.go (a lane's
// life and loop), write.go (encoding and the writer), read.go (reading
// results), stmts.go (prepared statements per connection, plan
// generations; statements refused because they would change a shared
// session, as package sqllex finds them), cancel.go (abandoned statements, cancels, resends),
// rows.go (results as pgx.Rows), types.go (decoding registered types in
// callers' goroutines).
package mux
