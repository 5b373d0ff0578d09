package pgkit

import (
	"context"
	"fmt"
	"iter"
	"reflect"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// Stream runs sql on d and yields its rows one at a time, each scanned by
// column position into a T (pgx.RowToStructByPos): for ad-hoc SQL whose
// result is too large to hold in memory. For the generated :many queries,
// pgkitgen emits a typed …Stream method each (sqlc issue #720), which scans
// without reflection. Memory stays flat whatever the number of rows.
// Breaking out of the loop closes the rows and gives the connection back,
// once pgx has read and dropped the rest of the result (to stop a long
// query on the server instead, cancel ctx: pgx then closes the connection);
// an error ends the sequence:
//
//	for u, err := range pgkit.Stream[User](ctx, pool, "SELECT user_id, name FROM users") {
//		if err != nil {
//			return err
//		}
//		fmt.Println(u.UserID, u.Name)
//	}
//
// T must be a struct with one exported field per result column, in order;
// another T yields an error naming it (pgx would panic).
func Stream[T any](ctx context.Context, d DBTX, sql string, args ...any) iter.Seq2[T, error] {
	if t := reflect.TypeFor[T](); t.Kind() != reflect.Struct {
		return func(yield func(T, error) bool) {
			var zero T
			yield(zero, fmt.Errorf("pgkit.Stream: %v is not a struct: use StreamScan with pgx.RowTo[%v]", t, t))
		}
	}
	return StreamScan(ctx, d, pgx.RowToStructByPos[T], sql, args...)
}

// StreamScan is Stream with the row decoding given: scan reads the current
// row. Explicit Scan calls avoid the reflection of Stream, which costs about
// a quarter of the throughput on a million narrow rows.
func StreamScan[T any](ctx context.Context, d DBTX, scan func(pgx.CollectableRow) (T, error), sql string, args ...any) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		var rows pgx.Rows
		var err error
		if s, ok := d.(interface {
			QueryStream(context.Context, string, ...any) (pgx.Rows, error)
		}); ok {
			rows, err = s.QueryStream(ctx, sql, args...) // not read in full by a multiplexing DB
		} else {
			rows, err = d.Query(ctx, sql, args...)
		}
		if err != nil {
			yield(zero, err)
			return
		}
		defer rows.Close() // gives a pooled connection back
		// Read the pgx rows under the wrapper directly: one call less per row.
		inner := unwrapRows(rows)
		for inner.Next() {
			v, err := scan(inner)
			if err != nil {
				yield(zero, pgerr.Map(ctx, sql, err))
				return
			}
			if !yield(v, nil) {
				return
			}
		}
		if err := inner.Err(); err != nil {
			yield(zero, pgerr.Map(ctx, sql, err))
		}
	}
}
