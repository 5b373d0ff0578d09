// Package pgkit runs the code sqlc generates for pgx/v5, for any sqlc
// project: a pool with documented defaults and a bounded wait for a
// connection (Open, Config, ErrPoolExhausted), typed errors on every query
// (package pgerr), transactions that retry themselves and nest as
// savepoints (WithTx), concurrent and pipelined fetch that stay inside a
// transaction when given one (Gather, Pipeline), streams and COPY from
// iterators (Stream, CopyFromSeq). It knows nothing of any schema: the
// generated package's New is passed in, so its typed Queries are what your
// functions get.
//
// Adopting it in a sqlc project takes five lines:
//
//	pool, err := pgkit.Open(ctx, os.Getenv("DATABASE_URL"), pgkit.Config{})
//	q := db.New(pool) // typed errors: errors.Is(err, pgerr.ErrNotFound)
//	err = pgkit.WithTx(ctx, pool, db.New, func(q *db.Queries) error { … })
//	err = pgkit.Pipeline(ctx, q.DB(), db.New, fetchProduct, fetchReviews)
//	//go:generate go run github.com/shopdb/shopdb/pgkit/cmd/pgkitgen  (…Stream, …Seq, Store)
//
// WithTx, Gather and Pipeline take any DBTX: the three methods (Exec,
// Query, QueryRow) every sqlc package's own DBTX declares, so the DB() of
// generated Queries passes to them as it is, whatever the package's
// options. What runs where: a pool (*DB, *pgxpool.Pool), a connection,
// a transaction (*Tx, any pgx.Tx), or a primary with read replicas
// (*Replicated: autocommit reads on the replicas). WithTx on a pool begins
// a transaction, on a transaction a savepoint. Gather on a pool runs its
// functions on connections of their own; on a transaction it pipelines
// them on the transaction's connection, like Pipeline. Inside WithTx, the
// generated Queries' DB() method (pgkitgen) is the transaction.
//
// Config.Multiplex shares a few connections between any number of
// goroutines: their autocommit statements are pipelined, each with its own
// Sync (its own implicit transaction), while transactions, streams and
// COPY keep a connection of their own. Statements that would change the
// shared session fail with ErrSessionState.
//
// Config.AfterConnect sets up every new connection: the place to register
// the project's enum, composite and domain types (conn.LoadTypes), which
// every path decodes with, multiplexed statements included.
//
// Config.Decoders takes the generated package's Decoders() (pgkitgen) and
// decodes those queries' rows from the binary format straight into the
// generated types, without pgx's scan plans (package pgdecode); whatever
// it would not decode exactly as pgx does, pgx decodes.
//
// In production: Config.Pooler for PgBouncer in transaction mode,
// Config.QueryTimeout against a frozen server, pgerr.ErrConnectionLost and
// pgerr.IsTransient for faults; dead idle connections are replaced before a
// query is sent on them.
//
// Subpackages: pgerr (typed errors and SQLSTATE classifiers), pgslog (a
// log/slog query tracer), pgkittest (a fresh migrated database per test),
// pgdecode (the binary decoders of Config.Decoders), cmd/pgkitgen (the
// generator).
package pgkit
