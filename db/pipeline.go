package db

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// Pipeline runs fns concurrently against ONE pooled connection and sends the
// queries they issue together, in one network round trip per round
// (PostgreSQL's pipeline mode, through pgx.Batch). Each fn calls the
// generated methods on its *Queries as usual and gets the same typed rows as
// without Pipeline. A page that needs a product, its reviews and the
// customer's orders holds one connection for one round trip, not three
// connections (Gather) or three round trips (one after the other).
//
// How it works: every fn runs in its own goroutine; a query it issues waits
// until every fn still running has issued one too (or returned), then all
// waiting queries go out as one batch, their rows are read into memory, and
// each fn continues with its own results. A fn that issues a second query
// takes part in the next round. So a fn must issue its queries one after
// another (not from goroutines of its own) and should not block on anything
// but its queries, or it holds up the round.
//
// Errors: the first query that fails is the error Pipeline returns, and the
// fns' contexts are cancelled. The queries of one round run in one implicit
// transaction: when one fails, the server skips the rest of that round and
// rolls back the round's writes. A panic in a fn is returned as an error.
//
// Not for: COPY (CopyFrom) and the :batch methods, which return an error
// here; large results, which are held in memory (use a Stream method).
func Pipeline(ctx context.Context, d *DB, fns ...func(ctx context.Context, q *Queries) error) error {
	if len(fns) == 0 {
		return nil
	}
	c, err := d.acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	return runPipeline(ctx, c.Conn(), fns)
}

// pipeRequest is one query a fn issued, waiting for its round.
type pipeRequest struct {
	sql   string
	args  []any
	exec  bool // Exec: only the command tag is wanted
	reply chan pipeReply
}

type pipeReply struct {
	rows *bufferedRows
	tag  pgconn.CommandTag
	err  error
}

// pipeline coordinates the fns of one Pipeline call.
type pipeline struct {
	requests chan pipeRequest
	// scanMu serialises decoding: the connection's type map caches plans and
	// is not safe for concurrent use, and the fns decode concurrently.
	scanMu  sync.Mutex
	typeMap *pgtype.Map
}

func runPipeline(parent context.Context, conn *pgx.Conn, fns []func(context.Context, *Queries) error) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	p := &pipeline{requests: make(chan pipeRequest), typeMap: conn.TypeMap()}
	done := make(chan error, len(fns))
	for i, fn := range fns {
		go func() {
			var err error
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("pipeline: fn %d panicked: %v\n%s", i, r, debug.Stack())
				}
				done <- err
			}()
			err = fn(ctx, New(pipeDBTX{p}))
		}()
	}

	var queryErr, fnErr error
	active := len(fns)
	var pending []pipeRequest
	for active > 0 {
		select {
		case r := <-p.requests:
			pending = append(pending, r)
		case err := <-done:
			active--
			if err != nil && fnErr == nil {
				fnErr = err
				cancel()
			}
		}
		switch {
		case ctx.Err() != nil:
			for _, r := range pending {
				r.reply <- pipeReply{err: ctx.Err()}
			}
			pending = nil
		case len(pending) > 0 && len(pending) >= active:
			if err := p.round(ctx, conn, pending); err != nil && queryErr == nil {
				queryErr = err
			}
			pending = nil
		}
	}
	if queryErr != nil {
		return queryErr
	}
	return fnErr
}

// round sends reqs as one batch and replies to each. It returns the first
// query error, the cause of any later ones in the same round.
func (p *pipeline) round(ctx context.Context, conn *pgx.Conn, reqs []pipeRequest) error {
	batch := &pgx.Batch{}
	for _, r := range reqs {
		batch.Queue(r.sql, r.args...)
	}
	br := conn.SendBatch(ctx, batch)
	var first error
	for _, r := range reqs {
		var rep pipeReply
		if r.exec {
			rep.tag, rep.err = br.Exec()
		} else {
			rep.rows, rep.err = p.readAll(br)
		}
		if rep.err != nil {
			rep.err = mapError(r.sql, rep.err)
			if first == nil {
				first = rep.err
			} else {
				rep.err = fmt.Errorf("skipped after an earlier query of the pipeline failed: %w", first)
			}
		}
		r.reply <- rep
	}
	if err := br.Close(); err != nil && first == nil {
		first = fmt.Errorf("pipeline: %w", err)
	}
	return first
}

// readAll reads the next result of br into memory.
func (p *pipeline) readAll(br pgx.BatchResults) (*bufferedRows, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	b := &bufferedRows{p: p, fields: append([]pgconn.FieldDescription(nil), rows.FieldDescriptions()...)}
	for rows.Next() {
		raw := rows.RawValues()
		size := 0
		for _, v := range raw {
			size += len(v)
		}
		buf := make([]byte, 0, size)
		row := make([][]byte, len(raw))
		for i, v := range raw {
			if v == nil {
				continue // NULL stays nil
			}
			start := len(buf)
			buf = append(buf, v...)
			row[i] = buf[start:len(buf):len(buf)]
		}
		b.values = append(b.values, row)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	b.tag = rows.CommandTag()
	return b, nil
}

// pipeDBTX is the DBTX a fn's Queries run on: each call joins the next round.
type pipeDBTX struct{ p *pipeline }

func (d pipeDBTX) submit(ctx context.Context, r pipeRequest) pipeReply {
	r.reply = make(chan pipeReply, 1)
	select {
	case d.p.requests <- r:
	case <-ctx.Done():
		return pipeReply{err: ctx.Err()}
	}
	select {
	case rep := <-r.reply:
		return rep
	case <-ctx.Done():
		return pipeReply{err: ctx.Err()}
	}
}

func (d pipeDBTX) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	rep := d.submit(ctx, pipeRequest{sql: sql, args: args, exec: true})
	return rep.tag, rep.err
}

func (d pipeDBTX) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	rep := d.submit(ctx, pipeRequest{sql: sql, args: args})
	if rep.err != nil {
		return nil, rep.err
	}
	return rep.rows, nil
}

func (d pipeDBTX) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rep := d.submit(ctx, pipeRequest{sql: sql, args: args})
	if rep.err != nil {
		return errRow{rep.err}
	}
	return bufferedRow{rows: rep.rows, sql: sql}
}

var errPipelineUnsupported = errors.New("pipeline: COPY and :batch queries cannot run inside Pipeline; call them outside it")

func (d pipeDBTX) CopyFrom(context.Context, pgx.Identifier, []string, pgx.CopyFromSource) (int64, error) {
	return 0, errPipelineUnsupported
}

func (d pipeDBTX) SendBatch(context.Context, *pgx.Batch) pgx.BatchResults {
	return errBatch{errPipelineUnsupported}
}

// bufferedRows is a result set read into memory, decoded on Scan.
type bufferedRows struct {
	p      *pipeline
	fields []pgconn.FieldDescription
	values [][][]byte
	next   int // index of the row Next moves to
	cur    [][]byte
	tag    pgconn.CommandTag
	closed bool
}

func (r *bufferedRows) Close()                                       { r.closed = true }
func (r *bufferedRows) Err() error                                   { return nil }
func (r *bufferedRows) CommandTag() pgconn.CommandTag                { return r.tag }
func (r *bufferedRows) FieldDescriptions() []pgconn.FieldDescription { return r.fields }
func (r *bufferedRows) RawValues() [][]byte                          { return r.cur }
func (r *bufferedRows) Conn() *pgx.Conn                              { return nil }

// TypeMap is the pipeline connection's; decode through Scan, which holds the
// lock that makes sharing it safe.
func (r *bufferedRows) TypeMap() *pgtype.Map { return r.p.typeMap }

func (r *bufferedRows) Next() bool {
	if r.closed || r.next >= len(r.values) {
		r.closed = true
		return false
	}
	r.cur = r.values[r.next]
	r.next++
	return true
}

func (r *bufferedRows) Scan(dest ...any) error {
	r.p.scanMu.Lock()
	defer r.p.scanMu.Unlock()
	return pgx.ScanRow(r.p.typeMap, r.fields, r.cur, dest...)
}

func (r *bufferedRows) Values() ([]any, error) {
	vals := make([]any, len(r.fields))
	dest := make([]any, len(vals))
	for i := range vals {
		dest[i] = &vals[i]
	}
	return vals, r.Scan(dest...)
}

// bufferedRow is QueryRow's first row of a buffered result.
type bufferedRow struct {
	rows *bufferedRows
	sql  string
}

func (r bufferedRow) Scan(dest ...any) error {
	if !r.rows.Next() {
		return mapError(r.sql, pgx.ErrNoRows)
	}
	return mapError(r.sql, r.rows.Scan(dest...))
}
