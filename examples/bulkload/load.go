package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopdb/shopdb/pgkit"
)

// job is one load.
type job struct {
	pool         *pgkit.DB
	in           io.Reader
	name         string
	allOrNothing bool
	batchRows    int // rows per COPY
	batchBytes   int // bytes of rows per COPY (a larger row goes alone)
	maxRowBytes  int // a longer record is a bad row
	fromLine     int // records that start before it are skipped
	progress     *progress
}

// result is what a load did.
type result struct {
	rows     int64    // stored (committed)
	read     int      // records read from fromLine on, good or bad
	skipped  int      // records before fromLine
	bad      []badRow // the first maxReported
	badCount int
	// resume is set when a load stops early without -all-or-nothing: every
	// record that starts before this line is stored or reported in bad.
	resume   int
	duration time.Duration
}

type badRow struct {
	line   int
	reason string
}

// maxReported bounds the bad rows kept for the report; all are counted.
const maxReported = 100

// rowOverhead is what a batched row costs beyond its fields' bytes (its
// Params struct, its line number), for the batch's byte bound.
const rowOverhead = 64

func (r *result) reject(line int, reason string) {
	r.badCount++
	if len(r.bad) < maxReported {
		r.bad = append(r.bad, badRow{line, reason})
	}
}

// errBadRow stops an -all-or-nothing load at its first bad row.
var errBadRow = errors.New("bad row")

// batch is the rows read and not yet copied, with their lines.
type batch[T any] struct {
	rows  []T
	lines []int
	bytes int
}

// load reads j.in as CSV for t and copies it in batches bounded in rows
// and in bytes. Without -all-or-nothing each batch is a transaction of its
// own; a row the server refuses is found by splitting the batch (copier),
// reported and skipped. With it, the load is one transaction and its first
// bad row, in line order, ends it. When ctx ends, the COPY under way is
// cancelled and what was committed stays; result.resume says where to go
// on from.
func load[T any](ctx context.Context, t table[T], j job) (res result, err error) {
	start := time.Now()
	defer func() { res.duration = time.Since(start) }()
	in := interruptible(ctx, &countingReader{r: j.in, p: j.progress})
	rd := newCSVReader(in, j.maxRowBytes, !j.allOrNothing)
	header, _, err := rd.Read()
	var ce *csvError
	switch {
	case errors.Is(err, io.EOF):
		return res, fmt.Errorf("%s is empty: want a header line %q", j.name, strings.Join(t.columns, ","))
	case errors.As(err, &ce):
		return res, fmt.Errorf("%s:1: malformed header: %w", j.name, err)
	case err != nil:
		return res, fmt.Errorf("read %s: %w", j.name, err)
	}
	if !slices.EqualFunc(header, t.columns, func(a, b string) bool { return strings.EqualFold(strings.TrimSpace(a), b) }) {
		return res, fmt.Errorf("%s: %w", j.name, headerError(header, t.columns))
	}

	c := &copier[T]{t: t, name: j.name, pool: j.pool, res: &res}
	if j.allOrNothing {
		// Begun and ended without ctx's cancellation: an interrupted load
		// rolls back on purpose, below, and a COPY that completed is not
		// left half-known.
		if c.tx, err = j.pool.Begin(context.WithoutCancel(ctx)); err != nil {
			return res, fmt.Errorf("begin: %w", err)
		}
		defer func() { _ = c.tx.Rollback(context.WithoutCancel(ctx)) }() // a no-op after Commit
	}
	var b batch[T]
	// flush copies the batch; on an early stop it sets res.resume.
	flush := func() error {
		if len(b.rows) == 0 {
			return nil
		}
		resolved, err := c.copy(ctx, b.rows, b.lines)
		if err != nil && !j.allOrNothing && resolved < len(b.lines) {
			res.resume = b.lines[resolved]
		}
		clear(b.rows) // let the rows' strings go
		b.rows, b.lines, b.bytes = b.rows[:0], b.lines[:0], 0
		return err
	}
	// stop ends the load early with err. Unless a flush said where to go on
	// from, that is the first pending row's line, or the next record's.
	stop := func(err error) (result, error) {
		if res.resume == 0 && !j.allOrNothing {
			res.resume = rd.nextLine()
			if len(b.lines) > 0 {
				res.resume = b.lines[0]
			}
		}
		return res, err
	}
	for {
		if err := ctx.Err(); err != nil {
			return stop(err)
		}
		rec, line, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var reason string
		switch {
		case errors.As(err, &ce):
			if line < j.fromLine {
				res.skipped++
				continue
			}
			reason = "malformed CSV: " + ce.Error()
		case err != nil:
			if ctx.Err() != nil {
				return stop(ctx.Err())
			}
			return stop(fmt.Errorf("read %s: %w", j.name, err))
		case line < j.fromLine:
			res.skipped++
			continue
		default:
			var row T
			if row, reason = convert(t, rec); reason == "" {
				res.read++
				size := rowOverhead
				for _, f := range rec {
					size += len(f)
				}
				if len(b.rows) > 0 && b.bytes+size > j.batchBytes {
					if err := flush(); err != nil {
						return stop(err)
					}
				}
				b.rows, b.lines, b.bytes = append(b.rows, row), append(b.lines, line), b.bytes+size
				j.progress.addRows(1)
				if len(b.rows) >= j.batchRows {
					if err := flush(); err != nil {
						return stop(err)
					}
				}
				continue
			}
		}
		res.read++
		if j.allOrNothing {
			// The rows before it may hold an earlier bad row only the
			// server sees: the first in line order is the one named.
			if err := flush(); err != nil {
				return stop(err)
			}
			res.reject(line, reason)
			return stop(fmt.Errorf("%w at %s:%d", errBadRow, j.name, line))
		}
		res.reject(line, reason)
	}
	if err := flush(); err != nil {
		return stop(err)
	}
	if c.tx != nil {
		if err := ctx.Err(); err != nil {
			return stop(err)
		}
		if err := c.tx.Commit(context.WithoutCancel(ctx)); err != nil {
			return stop(fmt.Errorf("commit: %w", err))
		}
		res.rows = c.inTx
	}
	return res, nil
}

// convert checks one record and makes its row, or says why it cannot.
func convert[T any](t table[T], rec []string) (T, string) {
	var zero T
	if len(rec) != len(t.columns) {
		return zero, fmt.Sprintf("%d fields, want %d (%s)", len(rec), len(t.columns), strings.Join(t.columns, ","))
	}
	for i, f := range rec {
		// PostgreSQL's text holds neither; saying so here is clearer than
		// the server's 22021, and costs no COPY.
		if !utf8.ValidString(f) {
			return zero, t.columns[i] + ": not valid UTF-8"
		}
		if strings.IndexByte(f, 0) >= 0 {
			return zero, t.columns[i] + ": contains a NUL byte, which PostgreSQL text cannot hold"
		}
	}
	row, err := t.parse(rec)
	if err != nil {
		return zero, err.Error()
	}
	return row, ""
}

// countingReader counts the bytes read for the progress display.
type countingReader struct {
	r io.Reader
	p *progress
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.p.addBytes(int64(n))
	return n, err
}

// interruptible returns a reader of r whose Read returns ctx's error as
// soon as ctx ends, also while a Read of r is blocked (standard input from
// a pipe whose writer is idle): Ctrl-C must not wait for input that may
// never come. A goroutine calls r.Read, only when a Read asks for data; it
// ends when r.Read returns an error, or returns at all after ctx ended.
// (The standard library has no cancellable Read for pipes and terminals.)
func interruptible(ctx context.Context, r io.Reader) io.Reader {
	return &ctxReader{ctx: ctx, r: r}
}

// chunk is what one Read of the input gave.
type chunk struct {
	b   []byte
	err error
}

// ctxReader is interruptible's reader.
type ctxReader struct {
	ctx  context.Context
	r    io.Reader
	req  chan int   // a Read's size, to the goroutine; nil before the first
	resp chan chunk // its answer
	left []byte     // of the last answer, not yet read
	err  error      // the input's, once it gave one
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if len(c.left) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		if err := c.ctx.Err(); err != nil {
			return 0, err
		}
		if c.req == nil {
			c.req, c.resp = make(chan int), make(chan chunk, 1)
			go c.serve()
		}
		select {
		case <-c.ctx.Done():
			return 0, c.ctx.Err()
		case c.req <- len(p): // the goroutine takes it: its last read was answered
		}
		select {
		case <-c.ctx.Done():
			return 0, c.ctx.Err()
		case ch := <-c.resp:
			c.left, c.err = ch.b, ch.err
			if len(c.left) == 0 {
				return 0, c.err
			}
		}
	}
	n := copy(p, c.left)
	c.left = c.left[n:]
	return n, nil
}

// serve reads c.r for each request until the input ends or ctx does.
func (c *ctxReader) serve() {
	for {
		select {
		case <-c.ctx.Done():
			return
		case n := <-c.req:
			buf := make([]byte, n)
			k, err := c.r.Read(buf)
			c.resp <- chunk{buf[:k], err} // buffered: never blocks
			if err != nil {
				return
			}
		}
	}
}
