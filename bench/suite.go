package main

// The workloads of asyncpg's own benchmark suite (MagicStack/pgbench),
// written anew for shopdb: a catalog scan, generate_series, large rows,
// integer arrays, COPY of 10,000 rows, a 1,000-row batch insert and
// SELECT 1+1, each with 10 callers on 10 connections (asyncpg's
// default concurrency), SELECT 1+1 also with 64 callers on 10. Their SQL
// is bench/benchdb's (sqlc, shopdb's options); raw pgx and asyncpg send
// the same text.

import (
	"context"
	"fmt"
	"time"

	"github.com/shopdb/shopdb/bench/benchdb"
)

// Sizes of the suite's workloads, shared by every client.
const (
	suiteCallers, suiteConns = 10, 10
	select64Callers          = 64
	seriesLen                = 1_000 // generate_series(1, seriesLen)
	blobRows                 = 100   // bench_blobs: rows, each a text and a bytea
	blobNoteLen, blobPayLen  = 1024, 4096
	arrayRows, arrayLen      = 100, 100 // bench_arrays: rows of arrayLen integers
	copyBatchRows            = 10_000   // rows of one COPY (copy10k)
	insertBatchRows          = 1_000    // rows of one batch insert (batch1k)
	nullEvery                = 10       // every 10th written row has its optional columns NULL
)

// suiteWorkloads are the suite's workload names, in report order.
var suiteWorkloads = []string{"catalog", "series", "large", "arrays", "copy10k", "batch1k", "select1", "select1-64"}

// isSuite reports whether w is one of the suite's workloads.
func isSuite(w string) bool {
	for _, s := range suiteWorkloads {
		if s == w {
			return true
		}
	}
	return false
}

// suiteWorkers is how many callers run w at once.
func suiteWorkers(w string) int {
	if w == "select1-64" {
		return select64Callers
	}
	return suiteCallers
}

// The suite's SQL as raw pgx, asyncpg and pgbench send it: benchdb's
// queries without sqlc's name comment.
const (
	sqlTypes = `SELECT oid, typname, typnamespace, typowner, typlen, typbyval, typtype::text,
    typcategory::text, typispreferred, typisdefined, typdelim::text, typrelid, typelem,
    typarray, typalign::text, typstorage::text, typnotnull, typbasetype, typtypmod, typndims
FROM pg_catalog.pg_type
WHERE typtypmod = $1::integer AND typisdefined = $2::boolean`
	sqlSeries    = `SELECT i::integer AS i FROM generate_series(1, $1::integer) AS i`
	sqlBlobs     = `SELECT blob_id, note, payload FROM bench_blobs ORDER BY blob_id`
	sqlArrays    = `SELECT array_id, vals FROM bench_arrays ORDER BY array_id`
	sqlRowInsert = `INSERT INTO bench_rows (n, big, label, score, at, opt_n, opt_big, opt_label, opt_flag, opt_at)
VALUES ($1::integer, $2::bigint, $3::text, $4::double precision, $5::timestamptz,
    $6::integer, $7::bigint, $8::text,
    $9::boolean, $10::timestamptz)`
	sqlOnePlusOne = `SELECT 1+1 AS two`
)

// rowColumns are bench_rows' columns, in the order every client writes them.
var rowColumns = []string{"n", "big", "label", "score", "at", "opt_n", "opt_big", "opt_label", "opt_flag", "opt_at"}

// suiteSetup creates the suite's tables in the database behind exec and
// fills bench_blobs and bench_arrays, on the server (generate_series,
// md5: text that does not compress, so large rows stay large).
func suiteSetup(ctx context.Context, dsn string) error {
	return execSQL(ctx, dsn,
		"DROP TABLE IF EXISTS bench_blobs, bench_arrays, bench_rows",
		benchdb.Schema,
		fmt.Sprintf(`INSERT INTO bench_blobs (blob_id, note, payload)
			SELECT g,
				(SELECT string_agg(md5(g || ':' || s), '') FROM generate_series(1, %d) s),
				decode((SELECT string_agg(md5(s || ':' || g), '') FROM generate_series(1, %d) s), 'hex')
			FROM generate_series(1, %d) g`, blobNoteLen/32, blobPayLen/16, blobRows),
		fmt.Sprintf(`INSERT INTO bench_arrays (array_id, vals)
			SELECT g, (SELECT array_agg(g * 1000 + s) FROM generate_series(1, %d) s)
			FROM generate_series(1, %d) g`, arrayLen, arrayRows),
		"VACUUM (ANALYZE) bench_blobs, bench_arrays, bench_rows")
}

// truncateRows empties bench_rows before a run that writes it.
func truncateRows(ctx context.Context, dsn string) error {
	return execSQL(ctx, dsn, "TRUNCATE bench_rows", "CHECKPOINT")
}

// rowValue is row i of what copy10k and batch1k write: every client
// writes the same values, the optional ones NULL in every nullEvery-th row.
type rowValue struct {
	n       int32
	big     int64
	label   string
	score   float64
	at      time.Time
	flag    bool
	hasOpts bool // the optional columns are n, big, label, flag and at again; else NULL
}

// rowValues are the rows one COPY or batch writes, made once per process,
// before anything is measured.
func rowValues(n int) []rowValue {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	out := make([]rowValue, n)
	for i := range out {
		out[i] = rowValue{
			n:       int32(i),
			big:     int64(i) * 1_000_003,
			label:   fmt.Sprintf("row %d of the batch", i),
			score:   float64(i) / 7,
			at:      base.Add(time.Duration(i) * time.Second),
			flag:    i%2 == 0,
			hasOpts: i%nullEvery != 0,
		}
	}
	return out
}
