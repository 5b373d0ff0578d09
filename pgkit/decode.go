package pgkit

import (
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shopdb/shopdb/pgkit/pgdecode"
	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// Decoders maps a query's sqlc name (the X of its "-- name: X :kind"
// line) to the destinations sqlc's method scans its rows into: pointers
// into a zero row, of which only the types count. The Decoders function
// pgkitgen generates returns them (the generated package imports nothing
// of pgkit); Config.Decoders takes them, and Open makes each query's
// binary decoder from them (pgdecode.New).
type Decoders map[string][]any

// decoders are Decoders made: each query's decoder.
type decoders map[string]*pgdecode.Decoder

// make makes ds' decoders; nil for none.
func (ds Decoders) make() decoders {
	if len(ds) == 0 {
		return nil
	}
	out := make(decoders, len(ds))
	for name, dest := range ds {
		out[name] = pgdecode.New(dest...)
	}
	return out
}

// decodersOf returns the decoders of src's Config.Decoders: a DB's, a
// Tx's DB's, a Replicated's primary's (where Pipeline runs); nil for
// others (pgx's own pools, connections and transactions).
func decodersOf(src DBTX) decoders {
	for {
		switch s := src.(type) {
		case *DB:
			return s.decoders
		case *Tx:
			if s.db == nil {
				return nil
			}
			return s.db.decoders
		case *Replicated:
			return s.primary.decoders
		case *wrapped:
			src = s.src
		default:
			return nil
		}
	}
}

// decoding is Config.Decoders at work on one result set: the query's
// decoder, looked up and checked against the result's columns at its
// first Scan.
type decoding struct {
	decs decoders // set on rows of a Tx; a DB's rows use the DB's
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
func (d *decoding) scan(decs decoders, sql string, rows pgx.Rows, dest []any) bool {
	tm, isMapper := rows.(typeMapper) // pgx's and the multiplexer's rows, pointers: comparable below
	if !isMapper {
		return false
	}
	if d.rows != rows {
		d.rows, d.ok = rows, false
		if dec := decs[pgerr.QueryName(sql)]; dec != nil {
			d.ok = d.res.Start(dec, tm.TypeMap(), rows.FieldDescriptions())
		}
	}
	return d.ok && d.res.Scan(rows.RawValues(), dest)
}
