// Package mux multiplexes autocommit statements of any number of
// goroutines over a few pooled connections, pipelined. pgx has explicit
// batches only (pgx #1091 and #1113 ask for this), so it is written here,
// on pgx's exported pieces: pgconn's ReceiveMessage for reading,
// pgproto3's message encoders for writing (pgconn's Pipeline type keeps a
// container/list per request, a quarter of the allocations when
// measured), pgx.ExtendedQueryBuilder for the arguments, pgtype's scan
// plans for decoding.
//
// A lane is one pooled connection and its goroutine, which takes
// statements from the queue, encodes them, writes them and reads the
// results back in order. It writes only what the socket takes without
// waiting; the rest goes to the lane's writer goroutine (write.go).
// Reading never waits for writing, so a server blocked sending results is
// always read (a lane that wrote megabytes of arguments while megabytes of
// results came back used to deadlock). Every statement is followed by its
// own Sync, so each runs in its own implicit transaction: one caller's
// failure never touches another's. Row values are copied out of the
// connection's buffer once, as they arrive, into slabs the caller's rows
// reference (slab.go), so the lane never waits for a caller to read them.
//
// Scaling. Npgsql removed its multiplexing for not scaling; this one
// differs where that matters, and is measured only so far (issue 18,
// BenchmarkMuxCost and BenchmarkMuxThousandCallers in package pgkit, a
// 2-CPU machine shared with other work, so nothing here is measured
// beyond 2 cores). No goroutine is on every statement's path: each lane's
// own goroutine encodes, writes and reads its connection, and callers
// decode their own rows, so lanes run on as many cores as there are. A
// statement's hand-offs are caller → lane (only when the lane was idle)
// and lane → caller; the writer goroutine wakes only for what the socket
// did not take at once. One lock is still on every statement's path:
// Mux.mu, which guards the shared queue (enqueue, and take per batch).
// Answers no longer take it unless callers wait for room: at 1,000
// callers on 10 connections a mutex profile went from 615 ms of delay
// in 20,000 statements (431 ms in enqueue, 179 ms in lanes answering:
// a lane waiting there reads nothing) to 18 ms (11 ms enqueue, 3 ms
// take). At 64 callers on 10 connections, SELECT 1+1 ran at 1.6–2.4
// times raw pgxpool's throughput for 0.4–0.5 of its client CPU per
// statement; with callers no more than connections the multiplexer
// costs about what the pool does and wins nothing, and on pages of
// 100 rows it costs 1.05–1.3 times the pool's CPU (its one copy per
// value, which a pooled connection does not make). Per-lane queues,
// which would take Mux.mu off the path, are not built.
//
// The files, by job: mux.go (the Mux, its configuration and counters),
// admit.go (callers: admission, waiting, answers), sweep.go (the bound
// on waiting to be taken by a lane), lane.go (a lane's
// life and loop), write.go (encoding and the writer), read.go (reading
// results), stmts.go (prepared statements per connection, plan
// generations; statements refused because they would change a shared
// session, as package sqllex finds them), cancel.go (abandoned statements, cancels, resends),
// rows.go (results as pgx.Rows), slab.go (where row values are kept),
// types.go (decoding registered types in callers' goroutines).
package mux
