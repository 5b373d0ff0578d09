package pgkit_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// batchSources are the sources a batch with callbacks is sent on: a DB
// (pooled, multiplexed, with decoders), a transaction of the DB, and a
// wrapped pgx transaction. decoded says whether the DB's
// decoders apply, tx whether it is a transaction.
func batchSources(t *testing.T, ctx context.Context, decs pgkit.Decoders) map[string]batchSource {
	t.Helper()
	pooled := pgkittest.NewWithConfig(t, decMigrations, pgkit.Config{MaxConns: 2, Decoders: decs}) // one for the Tx
	mux := pgkittest.NewWithConfig(t, decMigrations, pgkit.Config{MaxConns: 2, Multiplex: true, QueryTimeout: 30e9, Decoders: decs})
	tx, err := pooled.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	plain := pgkittest.NewWithConfig(t, decMigrations, pgkit.Config{MaxConns: 1})
	raw, err := plain.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = raw.Rollback(context.Background()) })
	return map[string]batchSource{
		"DB":          {pooled, true, false},
		"Multiplex":   {mux, true, false},
		"Tx":          {tx, true, true},
		"wrapped pgx": {pgkit.Wrap(raw), false, true},
	}
}

// batchSource is a source of batchSources.
type batchSource struct {
	src         batchDBTX
	decoded, tx bool
}

// batchDBTX is a DBTX that sends batches.
type batchDBTX interface {
	pgkit.DBTX
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// TestBatchCallbacks: the callbacks of pgx's queued queries (QueryRow,
// Query, Exec) run on pgkit's results: each gets its own answer, in order,
// decoded by the DB's decoders; a failing statement's error is typed and
// named, and no later callback runs; nor does one after a callback that
// returned an error of its own (pgx's Close would go on running them).
func TestBatchCallbacks(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	const (
		one    = "-- name: BatchOne :one\nSELECT $1::int4, 'one'::text"
		series = "-- name: BatchSeries :many\nSELECT g, 'row ' || g FROM generate_series(1, $1::int4) g"
		fails  = "-- name: BatchFails :one\nSELECT 1 / $1::int4"
	)
	var n int32
	var s string
	decs := pgkit.Decoders{"BatchOne": {&n, &s}, "BatchSeries": {&n, &s}}
	for name, c := range batchSources(t, ctx, decs) {
		t.Run(name, func(t *testing.T) {
			var (
				got1    int32
				text1   string
				rows    []string
				decoded int
				tag     pgconn.CommandTag
			)
			b := &pgx.Batch{}
			b.Queue(one, 7).QueryRow(func(row pgx.Row) error { return row.Scan(&got1, &text1) })
			b.Queue(series, 3).Query(func(r pgx.Rows) error {
				for r.Next() {
					var i int32
					var t string
					if err := r.Scan(&i, &t); err != nil {
						return err
					}
					decoded = max(decoded, pgkit.DecodedNatively(r))
					rows = append(rows, fmt.Sprintf("%d %s", i, t))
				}
				return r.Err()
			})
			b.Queue("SELECT 1").Exec(func(ct pgconn.CommandTag) error { tag = ct; return nil })
			if err := c.src.SendBatch(ctx, b).Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if got1 != 7 || text1 != "one" || fmt.Sprint(rows) != "[1 row 1 2 row 2 3 row 3]" || tag.String() != "SELECT 1" {
				t.Fatalf("answers: %d %q, %v, %q", got1, text1, rows, tag.String())
			}
			if (decoded > 0) != c.decoded {
				t.Fatalf("%d columns decoded natively; want decoders used: %v", decoded, c.decoded)
			}

			// A callback's own error ends the batch: Close returns it and
			// runs no later callback.
			boom := errors.New("boom")
			ran := false
			b = &pgx.Batch{}
			b.Queue(one, 1).QueryRow(func(pgx.Row) error { return boom })
			b.Queue(one, 2).QueryRow(func(pgx.Row) error { ran = true; return nil })
			if err := c.src.SendBatch(ctx, b).Close(); !errors.Is(err, boom) || ran {
				t.Fatalf("Close after a callback's error: %v, later callback ran: %v", err, ran)
			}

			// No row: pgerr.ErrNotFound, named.
			b = &pgx.Batch{}
			b.Queue(series, 0).QueryRow(func(row pgx.Row) error { return row.Scan(&got1, &text1) })
			if err := c.src.SendBatch(ctx, b).Close(); !errors.Is(err, pgerr.ErrNotFound) {
				t.Fatalf("no row: %v, want ErrNotFound", err)
			}

			// A statement the server fails: its error typed and named; later
			// callbacks do not run.
			ran = false
			var failed error
			b = &pgx.Batch{}
			b.Queue(one, 1).QueryRow(func(row pgx.Row) error { return row.Scan(&got1, &text1) })
			b.Queue(fails, 0).QueryRow(func(row pgx.Row) error { var x int32; failed = row.Scan(&x); return failed })
			b.Queue(one, 2).QueryRow(func(pgx.Row) error { ran = true; return nil })
			err := c.src.SendBatch(ctx, b).Close()
			var qe *pgerr.QueryError
			if !errors.As(err, &qe) || qe.Query != "BatchFails" || pgerr.SQLState(err) != "22012" || !errors.Is(err, failed) && err.Error() != failed.Error() {
				t.Fatalf("Close after a failing statement: %v (the callback saw %v), want BatchFails's typed 22012", err, failed)
			}
			if ran {
				t.Fatal("a callback after the failing statement ran")
			}

			// The connection is healthy after all of it (a transaction is
			// aborted by the failure, as without a batch).
			err = c.src.QueryRow(ctx, "SELECT 1").Scan(&got1)
			if c.tx && pgerr.SQLState(err) != "25P02" || !c.tx && (err != nil || got1 != 1) {
				t.Fatalf("after the batches: %v", err)
			}
		})
	}
}
