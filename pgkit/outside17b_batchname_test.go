package pgkit_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// TestOutside17bBatchErrorsNameTheQuery: README, "Beyond sqlc": "pgkit's
// errors and logs name X". A :one query run with a cancelled context fails
// with "AuthorGet: acquire connection: context canceled", but a :batchone
// or :batchmany (sqlc's own, or pgkitgen's XBatchResults with LEFT JOIN
// embeds) sent the same way passes each result "acquire connection:
// context canceled", with no query name: SendBatch's failure to acquire
// is not mapped with the batch's statement, while its not-found and scan
// errors are ("AuthorLastBatch: not found"). Pooled and multiplexed.
func TestOutside17bBatchErrorsNameTheQuery(t *testing.T) {
	url := pgkittest.EmptyURL(t)
	const sql = "-- name: AuthorLastBatch :batchone\nSELECT $1::bigint"
	for _, mux := range []bool{false, true} {
		d := openT(t, url, pgkit.Config{Multiplex: mux})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := d.QueryRow(ctx, "-- name: AuthorGet :one\nSELECT $1::bigint", 1).Scan(new(int64))
		if err == nil || !strings.Contains(err.Error(), "AuthorGet") {
			t.Fatalf("multiplex %v: QueryRow with a cancelled context: %v, want it to name AuthorGet", mux, err)
		}
		b := &pgx.Batch{}
		b.Queue(sql, 1)
		b.Queue(sql, 2)
		br := d.SendBatch(ctx, b)
		for i := 0; i < 2; i++ {
			err := br.QueryRow().Scan(new(int64))
			if !errors.Is(err, context.Canceled) {
				t.Errorf("multiplex %v: batch result %d: %v, want context.Canceled", mux, i, err)
			}
			if err == nil || !strings.Contains(err.Error(), "AuthorLastBatch") {
				t.Errorf("multiplex %v: batch result %d with a cancelled context: %q, want it to name AuthorLastBatch", mux, i, err)
			}
		}
		_ = br.Close()
	}
}
