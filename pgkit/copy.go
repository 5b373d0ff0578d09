package pgkit

import (
	"context"
	"fmt"
	"io"
	"iter"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// CopyFromSeq bulk-loads the rows seq yields into table with COPY, encoding
// each row as it comes, so that a source of any size (a file, a generator,
// another query) loads in constant memory. values turns one T into the
// column values; pgx encodes them before asking for the next row, so values
// may return the same slice every time. It returns the number of rows copied.
//
// sqlc's :copyfrom methods take a slice, which must hold every row first;
// this is their streaming form. pgkitgen emits a typed …Seq method for each
// of them, with the table and columns of the generated one. On a pgkit
// DBTX, pointers of common types among the values reach pgx as their
// values (see DB.CopyFrom).
func CopyFromSeq[T any](ctx context.Context, d DBTX, table pgx.Identifier, columns []string, seq iter.Seq[T], values func(T) []any) (int64, error) {
	c, ok := d.(copier)
	if !ok {
		return 0, fmt.Errorf("pgkit: %T cannot COPY (it has no CopyFrom method)", d)
	}
	next, stop := iter.Pull(seq)
	defer stop()
	return c.CopyFrom(ctx, table, columns, pgx.CopyFromFunc(func() ([]any, error) {
		v, ok := next()
		if !ok {
			return nil, nil
		}
		return values(v), nil
	}))
}

// CopyTo runs a COPY … TO STDOUT statement on src and writes what the
// server sends to w as it arrives: the fastest way to export a table or
// query as CSV or text, formatted by the server, in constant memory. src
// may be a pool (a connection is taken for the call), a connection or a
// transaction. Cancelling ctx cancels the COPY on the server. It returns
// the number of rows copied. On a DB, or a transaction begun on one, a ctx
// without a deadline is bounded by Config.QueryTimeout, as every
// statement is there. The connection's tracer (Config.Tracer) sees it as
// a query: its SQL, rows and error (it has no arguments).
//
//	n, err := pgkit.CopyTo(ctx, pool, f, "COPY (SELECT * FROM orders) TO STDOUT WITH (FORMAT csv, HEADER)")
func CopyTo(ctx context.Context, src DBTX, w io.Writer, sql string) (int64, error) {
	ctx, cancel := withQueryTimeout(ctx, queryTimeoutOf(src))
	defer cancel()
	conn, pooled, err := pgxConnOf(ctx, src)
	if err != nil {
		return 0, err
	}
	if pooled != nil {
		defer pooled.Release()
	}
	// pgx traces its own CopyFrom, not pgconn's CopyTo: do as pgx's Exec
	// does.
	tracer := conn.Config().Tracer
	if tracer != nil {
		ctx = tracer.TraceQueryStart(ctx, conn, pgx.TraceQueryStartData{SQL: sql})
	}
	tag, err := conn.PgConn().CopyTo(ctx, w, sql)
	if tracer != nil {
		tracer.TraceQueryEnd(ctx, conn, pgx.TraceQueryEndData{CommandTag: tag, Err: err})
	}
	if err != nil {
		return 0, pgerr.Map(ctx, sql, err)
	}
	return tag.RowsAffected(), nil
}
