package pgkit

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// errNoCurrentRow is Scan or Values called before Next.
var errNoCurrentRow = errors.New("pgkit: no current row: call Next first")

// muxRows is a multiplexed statement's result as pgx.Rows: rows already
// copied off the connection, decoded in the caller's goroutine with a
// pgtype.Map of the multiplexer's (a connection's own map is not safe for
// concurrent use, and the lane that read the rows has moved on) that knows
// the types the statement's connection has registered (result.types).
type muxRows struct {
	m      *mux
	ctx    context.Context
	sql    string
	res    result
	row    int        // rows returned by Next so far
	dm     *decodeMap // lent by the multiplexer until Close
	sc     rowScanner
	err    error
	closed bool
}

func (r *muxRows) ncols() int { return len(r.res.fields) }

// nrows is counted by the lane, not derived from the values: a row of no
// columns (SELECT FROM t) has none.
func (r *muxRows) nrows() int { return r.res.rows }

// decodeMap returns the map the rows are decoded with, lent by the
// multiplexer on first use.
func (r *muxRows) decodeMap() *pgtype.Map {
	if r.dm == nil {
		r.dm = r.m.typeMap(r.res.types)
	}
	return r.dm.tm
}

// Next moves to the next row.
func (r *muxRows) Next() bool {
	if r.closed || r.err != nil {
		return false
	}
	if r.row >= r.nrows() {
		r.Close()
		return false
	}
	r.row++
	return true
}

// current returns the values of the row Next moved to.
func (r *muxRows) current() [][]byte {
	n := r.ncols()
	if r.row == 0 || n == 0 {
		return nil
	}
	return r.res.values[(r.row-1)*n : r.row*n]
}

// Scan decodes the current row into dest, as pgx's rows do.
func (r *muxRows) Scan(dest ...any) error {
	if r.row == 0 {
		return pgerr.Map(r.ctx, r.sql, errNoCurrentRow)
	}
	if err := r.sc.scan(r, r.decodeMap(), r.res.fields, r.current(), dest); err != nil {
		r.err = err
		r.Close()
		return pgerr.Map(r.ctx, r.sql, err)
	}
	return nil
}

// Values decodes the current row into Go values.
func (r *muxRows) Values() ([]any, error) {
	if r.row == 0 {
		return nil, pgerr.Map(r.ctx, r.sql, errNoCurrentRow)
	}
	out, err := decodeValues(r.decodeMap(), r.res.fields, r.current())
	if err != nil {
		r.err = err
		return nil, pgerr.Map(r.ctx, r.sql, err)
	}
	return out, nil
}

// RawValues returns the current row's undecoded values.
func (r *muxRows) RawValues() [][]byte { return r.current() }

// Close releases the rows; reading them to the end closes them too.
func (r *muxRows) Close() {
	if r.closed {
		return
	}
	r.closed = true
	if r.dm != nil {
		r.m.giveMap(r.dm)
		r.dm = nil
	}
}

// Err is the error that ended the rows, typed as pgerr's.
func (r *muxRows) Err() error { return pgerr.Map(r.ctx, r.sql, r.err) }

// CommandTag is the statement's command tag.
func (r *muxRows) CommandTag() pgconn.CommandTag { return r.res.tag }

// FieldDescriptions describes the result columns.
func (r *muxRows) FieldDescriptions() []pgconn.FieldDescription { return r.res.fields }

// TypeMap is the map the rows are decoded with, taken from the
// multiplexer's until the rows are closed.
func (r *muxRows) TypeMap() *pgtype.Map {
	if r.closed {
		return nil
	}
	return r.decodeMap()
}

// Conn is nil: the rows belong to no connection.
func (r *muxRows) Conn() *pgx.Conn { return nil }

// rowScanner decodes rows as pgx's Rows.Scan does, keeping the scan plans
// from row to row while the destination types stay the same (as pgx's own
// rows do: a plan lookup per value costs as much as the decode). The
// multiplexer's rows and Pipeline's decode with it, so that a value that
// fails to decode is the caller's error only.
type rowScanner struct {
	plans []pgtype.ScanPlan // per column, for types[i]
	types []reflect.Type
}

// scan decodes values, the current row of rows, into dest with tm.
func (s *rowScanner) scan(rows pgx.Rows, tm *pgtype.Map, fields []pgconn.FieldDescription, values [][]byte, dest []any) error {
	if len(dest) == 1 {
		if rs, ok := dest[0].(pgx.RowScanner); ok {
			return rs.ScanRow(rows)
		}
	}
	if len(dest) != len(fields) {
		return fmt.Errorf("number of field descriptions must equal number of destinations, got %d and %d", len(fields), len(dest))
	}
	if len(values) != len(fields) {
		return fmt.Errorf("number of field descriptions must equal number of values, got %d and %d", len(fields), len(values))
	}
	if len(s.plans) != len(fields) {
		s.plans = make([]pgtype.ScanPlan, len(fields))
		s.types = make([]reflect.Type, len(fields))
	}
	for i, d := range dest {
		if d == nil {
			continue
		}
		t := reflect.TypeOf(d)
		if s.plans[i] == nil || s.types[i] != t {
			s.plans[i] = tm.PlanScan(fields[i].DataTypeOID, fields[i].Format, d)
			s.types[i] = t
		}
		if err := s.plans[i].Scan(values[i], d); err != nil {
			return pgx.ScanArgError{ColumnIndex: i, FieldName: fields[i].Name, Err: err}
		}
	}
	return nil
}

// decodeValues decodes a row into Go values as pgx's Rows.Values does.
func decodeValues(tm *pgtype.Map, fields []pgconn.FieldDescription, values [][]byte) ([]any, error) {
	if len(values) != len(fields) {
		return nil, fmt.Errorf("number of field descriptions must equal number of values, got %d and %d", len(fields), len(values))
	}
	out := make([]any, len(values))
	for i, buf := range values {
		if buf == nil {
			continue
		}
		f := fields[i]
		if t, ok := tm.TypeForOID(f.DataTypeOID); ok {
			v, err := t.Codec.DecodeValue(tm, f.DataTypeOID, f.Format, buf)
			if err != nil {
				return nil, err
			}
			out[i] = v
		} else if f.Format == pgtype.TextFormatCode {
			out[i] = string(buf)
		} else {
			out[i] = append([]byte(nil), buf...)
		}
	}
	return out, nil
}
