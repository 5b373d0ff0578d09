package pgkit

// COPY FROM with pgkit's own binary encoder (copy_encode.go).
//
// pgx's CopyFrom looks up an encode plan for every value it sends
// (pgtype.Map.Encode: map look-ups by OID and by Go type, then an
// interface call): on a COPY of narrow rows about half of the client's
// CPU (issue 18's profiles: Map.Encode 48 % cumulative, planEncodeDepth
// 30 %). A COPY's columns are known before its first row, and a column's
// values almost always have one Go type, so copyBinary picks each
// column's encoder once, from the column's OID and the codec pgx has for
// it, and sends what pgx would send: the same bytes for every value
// (TestCopyEncodeMatchesPgx, FuzzCopyEncodeMatchesPgx, and
// TestCopyFromMatchesPgx for what the server stores), the same errors, the
// same tracer calls. A value of any other Go type, or a column of any
// other type, is encoded by pgx's Map as pgx does. pgx has no hook for
// this (its encoder is unexported), so it is written here.
//
// Where it differs from pgx's: the columns are described (an unnamed
// Prepare) at every COPY, as pgx's describe-exec mode does, where pgx's
// default mode caches the description per connection; one round trip
// more per COPY, and never a stale column type after an ALTER TABLE. A
// trace begun is always ended, a failed description too. A NUL byte in a
// column name is dropped, as pgx drops it from table names.
//
// It also drops pgx's io.Pipe and its goroutine: pgconn's CopyFrom reads
// the encoded rows from copyReader, which encodes as it is read.

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// copyReadAhead is how many encoded bytes copyReader collects before
// handing them on: pgconn reads into a 64 KiB message, as pgx's own COPY
// fills it.
const copyReadAhead = 64<<10 - 5

// copyBinary COPYs src's rows into table's columns on conn, as
// conn.CopyFrom does (same statements, bytes, errors and tracer calls),
// encoding the values of common types itself.
func copyBinary(ctx context.Context, conn *pgx.Conn, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	tracer, _ := conn.Config().Tracer.(pgx.CopyFromTracer)
	if tracer != nil {
		ctx = tracer.TraceCopyFromStart(ctx, conn, pgx.TraceCopyFromStartData{TableName: table, ColumnNames: columns})
	}
	quoted := make([]string, len(columns))
	for i, c := range columns {
		quoted[i] = pgx.Identifier{c}.Sanitize() // pgx's quoting, and a NUL byte dropped, as in table names
	}
	cols, tbl := strings.Join(quoted, ", "), table.Sanitize()
	var tag pgconn.CommandTag
	sd, err := conn.Prepare(ctx, "", "select "+cols+" from "+tbl)
	if err != nil {
		err = fmt.Errorf("statement description failed: %w", err)
	} else {
		tag, err = conn.PgConn().CopyFrom(ctx, newCopyReader(conn.TypeMap(), sd.Fields, src), "copy "+tbl+" ( "+cols+" ) from stdin binary;")
	}
	if tracer != nil { // pgx's own skips this when the description failed; a trace begun is ended here
		tracer.TraceCopyFromEnd(ctx, conn, pgx.TraceCopyFromEndData{CommandTag: tag, Err: err})
	}
	return tag.RowsAffected(), err
}

// copyReader is a COPY's binary stream, encoded from its source as
// pgconn reads it.
type copyReader struct {
	m     *pgtype.Map
	src   pgx.CopyFromSource
	encs  []copyEncoder // per column
	buf   []byte        // encoded, not yet read from off
	off   int
	begun bool
	done  bool
}

func newCopyReader(m *pgtype.Map, fields []pgconn.FieldDescription, src pgx.CopyFromSource) *copyReader {
	encs := make([]copyEncoder, len(fields))
	for i, f := range fields {
		encs[i] = encoderFor(m, f.DataTypeOID)
	}
	return &copyReader{m: m, src: src, encs: encs}
}

// Read hands on encoded rows, encoding more when none are left.
func (r *copyReader) Read(p []byte) (int, error) {
	if r.off == len(r.buf) {
		if r.done {
			return 0, io.EOF
		}
		if err := r.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.buf[r.off:])
	r.off += n
	return n, nil
}

// fill encodes rows into buf until it holds copyReadAhead bytes or the
// rows end; the first fill starts with the binary COPY header.
func (r *copyReader) fill() error {
	buf := r.buf[:0]
	r.off = 0
	if !r.begun {
		r.begun = true
		buf = append(buf, "PGCOPY\n\377\r\n\000"...)
		buf = append(buf, 0, 0, 0, 0, 0, 0, 0, 0) // flags, header extension length
	}
	for len(buf) < copyReadAhead {
		if !r.src.Next() {
			r.done = true
			break
		}
		vals, err := r.src.Values()
		if err != nil {
			return err
		}
		if len(vals) != len(r.encs) {
			return fmt.Errorf("expected %d values, got %d values", len(r.encs), len(vals))
		}
		buf = appendInt16(buf, int16(len(vals)))
		for i, v := range vals {
			if buf, err = r.encs[i].append(r.m, buf, v); err != nil {
				return err
			}
		}
	}
	if err := r.src.Err(); err != nil {
		return err
	}
	r.buf = buf
	return nil
}
