package main

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// pgxAppend is workload w as a careful pgx user writes a hot path: each of
// the workers scans into one row through one Scan list made per query, and
// appends to the slice its previous call returned, from [:0]: what
// shopdb's append mode (pgkitgen's …Append) is measured against.
func pgxAppend(pool *pgxpool.Pool, w string, workers int) (func(ctx context.Context, worker, _ int) error, error) {
	switch w {
	case "catalog":
		bufs := make([][]rawType, workers)
		return func(ctx context.Context, k, _ int) error {
			var t rawType
			out, err := appendRows(ctx, pool, bufs[k][:0], &t, sqlTypes, []any{int32(-1), true},
				&t.OID, &t.Name, &t.Namespace, &t.Owner, &t.Len, &t.ByVal, &t.Type,
				&t.Category, &t.Preferred, &t.Defined, &t.Delim, &t.RelID, &t.Elem,
				&t.Array, &t.Align, &t.Storage, &t.NotNull, &t.BaseType, &t.TypMod, &t.NDims)
			bufs[k] = out
			return atLeast(len(out), 100, err)
		}, nil
	case "series":
		bufs := make([][]int32, workers)
		return func(ctx context.Context, k, _ int) error {
			var i int32
			out, err := appendRows(ctx, pool, bufs[k][:0], &i, sqlSeries, []any{int32(seriesLen)}, &i)
			bufs[k] = out
			return atLeast(len(out), seriesLen, err)
		}, nil
	case "large":
		bufs := make([][]rawBlob, workers)
		return func(ctx context.Context, k, _ int) error {
			var b rawBlob
			out, err := appendRows(ctx, pool, bufs[k][:0], &b, sqlBlobs, nil, &b.ID, &b.Note, &b.Payload)
			bufs[k] = out
			return atLeast(len(out), blobRows, err)
		}, nil
	case "arrays":
		bufs := make([][]rawArray, workers)
		return func(ctx context.Context, k, _ int) error {
			var a rawArray
			out, err := appendRows(ctx, pool, bufs[k][:0], &a, sqlArrays, nil, &a.ID, &a.Vals)
			bufs[k] = out
			return atLeast(len(out), arrayRows, err)
		}, nil
	}
	return nil, fmt.Errorf("workload %q has no append mode", w)
}

// appendRows runs sql and appends each row, scanned into *row through
// dest (pointers into *row) and reset to its zero value before each, to
// dst.
func appendRows[T any](ctx context.Context, pool *pgxpool.Pool, dst []T, row *T, sql string, args []any, dest ...any) ([]T, error) {
	rows, err := pool.Query(ctx, sql, args...)
	if err != nil {
		return dst, err
	}
	defer rows.Close()
	var zero T
	for rows.Next() {
		*row = zero
		if err := rows.Scan(dest...); err != nil {
			return dst, err
		}
		dst = append(dst, *row)
	}
	return dst, rows.Err()
}
