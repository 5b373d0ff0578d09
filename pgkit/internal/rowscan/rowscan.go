// Package rowscan decodes rows whose values pgkit holds itself (the
// multiplexer's, copied off the connection; Pipeline's, read off a batch)
// as pgx's Rows.Scan and Rows.Values do, so that a value that fails to
// decode is its caller's error only.
package rowscan

import (
	"fmt"
	"reflect"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// Scanner decodes rows as pgx's Rows.Scan does, keeping the scan plans
// from row to row while the destination types stay the same (as pgx's own
// rows do: a plan lookup per value costs as much as the decode). The
// multiplexer's rows and Pipeline's decode with it, so that a value that
// fails to decode is the caller's error only.
type Scanner struct {
	plans []pgtype.ScanPlan // per column, for types[i]
	types []reflect.Type
}

// Scan decodes values, the current row of rows, into dest with tm.
func (s *Scanner) Scan(rows pgx.Rows, tm *pgtype.Map, fields []pgconn.FieldDescription, values [][]byte, dest []any) error {
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

// Values decodes a row into Go values as pgx's Rows.Values does.
func Values(tm *pgtype.Map, fields []pgconn.FieldDescription, values [][]byte) ([]any, error) {
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
