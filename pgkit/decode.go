package pgkit

import (
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shopdb/shopdb/pgkit/pgdecode"
	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// Decoders maps a query's sqlc name (the X of its "-- name: X :kind"
// line) to the binary decoder of its rows, as the Decoders function
// pgkitgen generates returns them; Config.Decoders takes them. A map
// Open was given is only read, from any goroutine.
type Decoders map[string]*pgdecode.Decoder

// decoding is Config.Decoders at work on one result set: the query's
// decoder, looked up and checked against the result's columns at its
// first Scan.
type decoding struct {
	decs Decoders // set on rows of a Tx; a DB's rows use the DB's
	rows pgx.Rows // the rows res was started on (a rerun brings others)
	ok   bool     // res decodes rows
	res  pgdecode.Result
}

// typeMapper is pgx's rows, which hold the type map they decode with.
type typeMapper interface{ TypeMap() *pgtype.Map }

// scan decodes the current row of rows, the result of sql, into dest with
// decs' decoder for sql; false when it did not (no decoder, columns of
// other types than generated, other destinations, or a value the decoder
// declined): the caller scans with pgx.
func (d *decoding) scan(decs Decoders, sql string, rows pgx.Rows, dest []any) bool {
	if d.rows != rows {
		d.rows, d.ok = rows, false
		dec := decs[pgerr.QueryName(sql)]
		tm, isMapper := rows.(typeMapper)
		if dec == nil || !isMapper {
			return false
		}
		d.ok = d.res.Start(dec, tm.TypeMap(), rows.FieldDescriptions())
	}
	return d.ok && d.res.Scan(rows.RawValues(), dest)
}

// decoders are the Config.Decoders r's rows are decoded with, or nil.
func (r *mappedRows) decoders() Decoders {
	if r.dec.decs != nil {
		return r.dec.decs
	}
	if r.db != nil {
		return r.db.decoders
	}
	return nil
}

// decodeWith has rows, the mapped rows of a query on d's connection,
// decoded with d's Config.Decoders (a nil d: none).
func decodeWith(rows pgx.Rows, d *DB) {
	if m, ok := rows.(*mappedRows); ok && d != nil {
		m.dec.decs = d.decoders
	}
}
