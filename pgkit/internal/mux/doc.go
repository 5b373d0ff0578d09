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
// reference (slab.go), so the lane never waits for a caller to read them;
// a slab is reused once the results in it are closed, so that the copy
// is not also an allocation.
//
// Scaling. Npgsql removed its multiplexing (in 11.0, npgsql#6449) for
// not scaling with cores: every command went through one channel to one
// write loop, so one core sent what all the others produced. This one
// differs there, but it is measured only on a 2-CPU machine shared with other
// work, so nothing here shows scaling beyond 2 cores, and one lock is
// still on every statement's path. No goroutine is: each lane's own
// goroutine encodes, writes and reads its connection, and callers decode
// their own rows, so lanes run on as many cores as there are. A
// statement's hand-offs are caller → lane (only when the lane was idle)
// and lane → caller; the writer goroutine wakes only for what the socket
// did not take at once. The lock is Mux.mu, which guards the shared
// queue: taken once per statement (enqueue) and once per batch a lane
// takes. Answers do not take it unless callers wait for room. A mutex
// profile of 20,000 statements from 1,000 callers on 10 connections
// (BenchmarkMuxThousandCallers, -mutexprofile) showed 52 ms and, in
// another run, 947 ms of delay before h18-mux2 (enqueue, lanes answering
// under Mux.mu, lanes giving statements back: a lane waiting there reads
// nothing); since, 5.7 ms and 2.4 ms, nearly all in enqueue (2.1 of the
// 2.4): callers contend for Mux.mu, lanes hardly ever. Per-lane queues,
// which would take Mux.mu off the path, are not built, and until they are
// this package makes no claim of scaling with cores.
//
// Cost (issue 18; bench/ with 10 callers on a pool of 10, and
// BenchmarkMuxCost). With more callers than connections it wins: SELECT
// 1+1 from 64 callers on 10 connections ran at 1.75–2.2 times raw pgx's
// throughput for 0.55–0.65 of its client CPU per statement. With callers
// no more than connections, its client CPU per query was 0.97–1.06 of the
// pool's on results of many rows or large values (catalog, large, arrays:
// 1.16–1.43 before its slabs were reused), and 1.0–1.15 on SELECT 1+1,
// where it does a hand-off each way that the pool does not.
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
