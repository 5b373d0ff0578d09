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
	src := &seqSource[T]{seq: seq, values: values}
	defer src.close()
	return c.CopyFrom(ctx, table, columns, src)
}

// seqSource is CopyFromSeq's rows: pushed by pgkit's CopyFrom
// (copy_push.go), pulled (iter.Pull) by any other.
type seqSource[T any] struct {
	seq    iter.Seq[T]
	values func(T) []any
	next   func() (T, bool)
	stop   func()
	row    []any
}

// Next moves to the next row, pulled from the iterator.
func (s *seqSource[T]) Next() bool {
	if s.next == nil {
		s.next, s.stop = iter.Pull(s.seq)
	}
	v, ok := s.next()
	if ok {
		s.row = s.values(v)
	}
	return ok
}

// Values returns the current row's values.
func (s *seqSource[T]) Values() ([]any, error) { return s.row, nil }

// Err returns nil: a Seq has no error of its own to report.
func (s *seqSource[T]) Err() error { return nil }

// PgkitCopyEach runs the iterator, handing each row's values to emit;
// the values are checked one by one (copy_push.go).
func (s *seqSource[T]) PgkitCopyEach() (func(emit func([]any) bool) error, bool) {
	return func(emit func([]any) bool) error {
		s.seq(func(v T) bool { return emit(s.values(v)) })
		return nil
	}, false
}

func (s *seqSource[T]) close() {
	if s.stop != nil {
		s.stop()
	}
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
