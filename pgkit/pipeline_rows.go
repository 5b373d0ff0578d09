package pgkit

import (
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shopdb/shopdb/pgkit/internal/rowscan"
	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// handoffRows is a result of the batch, read by the fn that asked for it.
// Reading it to the end or closing it passes the turn on.
//
// Its rows are decoded here, not by pgx's rows: those keep a Scan error as
// their own, and the batch would then return it for every later query of
// the round, although the server answered them. A value that fails to
// decode ends these rows with the error (decodeErr), as pgx's rows end,
// and pgx's are closed (read to the end of their result) without it.
type handoffRows struct {
	pgx.Rows
	round     *roundState // errors are typed with its mapCtx
	sql       string
	prior     error // an earlier query of the round failed: this one was skipped
	sc        rowscan.Scanner
	decs      decoders // Config.Decoders: tried before sc (decode.go)
	dec       decoding
	decodeErr error // the Scan or Values that failed here, in the client
	once      sync.Once
	onRelease func()
	row       handoffRow // QueryRow's result: these rows' first
}

func (h *handoffRows) Next() bool {
	if h.decodeErr == nil && h.Rows.Next() {
		return true
	}
	h.release()
	return false
}

// Scan decodes the current row into dest, as pgx's rows do: with
// Config.Decoders' decoder for the query when it decodes the row (one that
// declines leaves the error, if any, to sc).
func (h *handoffRows) Scan(dest ...any) error {
	if h.decs != nil && h.dec.scan(h.decs, h.sql, h.Rows, dest) {
		return nil
	}
	err := h.sc.Scan(h, h.Rows.TypeMap(), h.Rows.FieldDescriptions(), h.Rows.RawValues(), dest)
	if err != nil {
		h.decodeFailed(err)
		return pgerr.Map(h.round.mapCtx(), h.sql, err)
	}
	return nil
}

// Values decodes the current row into Go values, as pgx's rows do.
func (h *handoffRows) Values() ([]any, error) {
	vals, err := rowscan.Values(h.Rows.TypeMap(), h.Rows.FieldDescriptions(), h.Rows.RawValues())
	if err != nil {
		h.decodeFailed(err)
		return nil, err
	}
	return vals, nil
}

// decodeFailed ends the rows after a value failed to decode.
func (h *handoffRows) decodeFailed(err error) {
	if h.decodeErr == nil {
		h.decodeErr = err
	}
	h.Close()
}

func (h *handoffRows) Close() {
	h.Rows.Close()
	h.release()
}

func (h *handoffRows) Err() error {
	if h.decodeErr != nil {
		return pgerr.Map(h.round.mapCtx(), h.sql, h.decodeErr)
	}
	err := h.Rows.Err()
	switch {
	case err == nil:
		return nil
	case h.prior != nil:
		return fmt.Errorf("skipped after an earlier query of the pipeline failed: %w", h.prior)
	}
	return pgerr.Map(h.round.mapCtx(), h.sql, err)
}

func (h *handoffRows) release() { h.once.Do(h.onRelease) }

// handoffRow is QueryRow's result: the first row of its rows, as pgx's
// QueryRow reads it. Scan passes the turn on.
type handoffRow struct {
	rows    *handoffRows
	scanned bool
}

func (h *handoffRow) Scan(dest ...any) error {
	if h.scanned {
		return errors.New("pipeline: row already scanned")
	}
	h.scanned = true
	rows := h.rows
	for _, d := range dest {
		if _, ok := d.(*pgtype.DriverBytes); ok {
			rows.Close()
			return errors.New("pipeline: cannot scan into *pgtype.DriverBytes from QueryRow")
		}
	}
	if !rows.Next() { // closes the rows
		if err := rows.Err(); err != nil {
			return err
		}
		return pgerr.Map(rows.round.mapCtx(), rows.sql, pgx.ErrNoRows)
	}
	if err := rows.Scan(dest...); err != nil { // closes the rows
		return pgerr.Map(rows.round.mapCtx(), rows.sql, err)
	}
	rows.Close()
	return rows.Err()
}
