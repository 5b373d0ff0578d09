package db

import (
	"context"
	"iter"

	"github.com/jackc/pgx/v5"
)

// Stream runs sql on d and yields its rows one at a time, each scanned by
// column position into a T (pgx.RowToStructByPos): for results too large to
// hold in memory, where the generated :many methods build a slice. Memory
// stays flat whatever the number of rows. Breaking out of the loop closes
// the rows and gives the connection back; an error ends the sequence:
//
//	for u, err := range q.UserExportStream(ctx, 0) {
//		if err != nil {
//			return err
//		}
//		fmt.Println(u.UserID, u.LastName)
//	}
//
// T must have one exported field per result column, in order, as sqlc's row
// types do.
func Stream[T any](ctx context.Context, d DBTX, sql string, args ...any) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		rows, err := d.Query(ctx, sql, args...)
		if err != nil {
			yield(zero, err)
			return
		}
		defer rows.Close()
		for rows.Next() {
			v, err := pgx.RowToStructByPos[T](rows)
			if err != nil {
				yield(zero, mapError(sql, err))
				return
			}
			if !yield(v, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(zero, err)
		}
	}
}

// UserExportStream yields UserExport's rows one at a time; see Stream.
func (q *Queries) UserExportStream(ctx context.Context, afterUserID int64) iter.Seq2[User, error] {
	return Stream[User](ctx, q.db, userExport, afterUserID)
}

// OrderExportStream yields OrderExport's rows one at a time; see Stream.
func (q *Queries) OrderExportStream(ctx context.Context, arg OrderExportParams) iter.Seq2[Order, error] {
	return Stream[Order](ctx, q.db, orderExport, arg.Since, arg.Until)
}
