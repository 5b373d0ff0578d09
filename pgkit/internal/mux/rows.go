package mux

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shopdb/shopdb/pgkit/internal/rowscan"
)

// errNoCurrentRow is Scan or Values called before Next.
var errNoCurrentRow = errors.New("pgkit: no current row: call Next first")

// Rows is a multiplexed statement's result as pgx.Rows: rows already
// copied off the connection, decoded in the caller's goroutine with a
// pgtype.Map of the multiplexer's (a connection's own map is not safe for
// concurrent use, and the lane that read the rows has moved on) that knows
// the types the statement's connection has registered (result.types). Its
// errors are pgx's and the server's, untyped: the caller maps them.
type Rows struct {
	m        *Mux
	ctx      context.Context // Next stops once it ends (WatchContext)
	res      result
	row      int        // rows returned by Next so far
	segFirst int        // the index in the result of the first row of segment seg
	dm       *decodeMap // lent by the multiplexer until Close
	sc       rowscan.Scanner
	err      error
	seg      int32 // the segment current looked at last: 0 res.seg, i res.more[i-1]
	closed   bool
	vals     [][]byte  // the current row's values, built for row built
	built    int       // the row vals holds; 0: none
	small    [4][]byte // vals' room for a few columns: no allocation of its own
}

var _ pgx.Rows = (*Rows)(nil)

func (r *Rows) ncols() int { return len(r.fields()) }

// fields describes the result's columns.
func (r *Rows) fields() []pgconn.FieldDescription {
	if r.res.st == nil {
		return nil
	}
	return r.res.st.fields
}

// segment returns the result's segment i: 0 is res.seg, i res.more[i-1].
func (r *Rows) segment(i int32) *segment {
	if i == 0 {
		return &r.res.seg
	}
	return &r.res.more[i-1]
}

// decodeMap returns the map the rows are decoded with, lent by the
// multiplexer on first use.
func (r *Rows) decodeMap() *pgtype.Map {
	if r.dm == nil {
		var types []*pgtype.Type
		if r.res.st != nil {
			types = r.res.st.types
		}
		r.dm = r.m.typeMap(types)
	}
	return r.dm.tm
}

// Next moves to the next row. Rows are counted by the lane, not derived
// from the values: a row of no columns (SELECT FROM t) has none. Once the
// caller's context has ended, Next stops with its error, as a pooled
// connection's rows do: the rows are in memory, but a caller that gave up
// must not go on reading them.
func (r *Rows) Next() bool {
	if r.closed || r.err != nil {
		return false
	}
	if err := r.ctx.Err(); err != nil {
		r.err = err
		r.Close()
		return false
	}
	if r.row >= r.res.rows {
		r.Close()
		return false
	}
	r.row++
	return true
}

// WatchContext makes Next stop with ctx's error once ctx ends, instead of
// the statement's context (Query's): for a caller whose statement ran
// under a deadline of its own that ends before the rows are read.
func (r *Rows) WatchContext(ctx context.Context) { r.ctx = ctx }

// current returns the values of the row Next moved to: sub-slices of the
// one copy the lane made (slab.go), valid until Next or Close, as pgx's
// are; the slice holding them is reused by the next row, as pgx's is.
func (r *Rows) current() [][]byte {
	n := r.ncols()
	if r.row == 0 || n == 0 || r.closed { // closed: the values are given back
		return nil
	}
	if r.built == r.row {
		return r.vals
	}
	i := r.row - 1
	seg := r.segment(r.seg)
	for i >= r.segFirst+seg.rows && int(r.seg) < len(r.res.more) { // rows only move forward
		r.segFirst += seg.rows
		r.seg++
		seg = r.segment(r.seg)
	}
	base := (i - r.segFirst) * n
	start := 0
	if base > 0 {
		if start = int(seg.ends[base-1]); start < 0 {
			start = ^start
		}
	}
	vals := r.vals[:0]
	if vals == nil {
		vals = r.small[:0]
	}
	data := seg.data
	for _, e := range seg.ends[base : base+n] {
		end := int(e)
		if end < 0 {
			vals = append(vals, nil)
			start = ^end
			continue
		}
		vals = append(vals, data[start:end:end])
		start = end
	}
	r.vals, r.built = vals, r.row
	return vals
}

// Scan decodes the current row into dest, as pgx's rows do.
func (r *Rows) Scan(dest ...any) error {
	if r.row == 0 {
		return errNoCurrentRow
	}
	if err := r.sc.Scan(r, r.decodeMap(), r.fields(), r.current(), dest); err != nil {
		r.err = err
		r.Close()
		return err
	}
	return nil
}

// Values decodes the current row into Go values.
func (r *Rows) Values() ([]any, error) {
	if r.row == 0 {
		return nil, errNoCurrentRow
	}
	out, err := rowscan.Values(r.decodeMap(), r.fields(), r.current())
	if err != nil {
		r.err = err
		return nil, err
	}
	return out, nil
}

// RawValues returns the current row's undecoded values.
func (r *Rows) RawValues() [][]byte { return r.current() }

// Close releases the rows; reading them to the end closes them too.
func (r *Rows) Close() {
	if r.closed {
		return
	}
	r.closed = true
	r.res.release()
	r.vals = nil
	if r.dm != nil {
		r.m.giveMap(r.dm)
		r.dm = nil
	}
}

// Err is the error that ended the rows.
func (r *Rows) Err() error { return r.err }

// CommandTag is the statement's command tag.
func (r *Rows) CommandTag() pgconn.CommandTag { return r.res.tag }

// FieldDescriptions describes the result columns.
func (r *Rows) FieldDescriptions() []pgconn.FieldDescription { return r.fields() }

// TypeMap is the map the rows are decoded with, taken from the
// multiplexer's until the rows are closed.
func (r *Rows) TypeMap() *pgtype.Map {
	if r.closed {
		return nil
	}
	return r.decodeMap()
}

// Conn is nil: the rows belong to no connection.
func (r *Rows) Conn() *pgx.Conn { return nil }
