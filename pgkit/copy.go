package pgkit

import (
	"context"
	"iter"

	"github.com/jackc/pgx/v5"
)

// CopyFromSeq bulk-loads the rows seq yields into table with COPY, encoding
// each row as it comes, so that a source of any size (a file, a generator,
// another query) loads in constant memory. values turns one T into the
// column values; pgx encodes them before asking for the next row, so values
// may return the same slice every time. It returns the number of rows copied.
//
// sqlc's :copyfrom methods take a slice, which must hold every row first;
// this is their streaming form. pgkitgen emits a typed …Seq method for each
// of them, with the table and columns of the generated one.
func CopyFromSeq[T any](ctx context.Context, d DBTX, table pgx.Identifier, columns []string, seq iter.Seq[T], values func(T) []any) (int64, error) {
	next, stop := iter.Pull(seq)
	defer stop()
	return d.CopyFrom(ctx, table, columns, pgx.CopyFromFunc(func() ([]any, error) {
		v, ok := next()
		if !ok {
			return nil, nil
		}
		return values(v), nil
	}))
}
