package pgkit

// COPY from an iterator without a coroutine switch per row.
//
// pgx reads a COPY's rows by pulling (CopyFromSource.Next), an iter.Seq
// yields them by pushing, and iter.Pull joins the two with two coroutine
// switches per row: for a COPY of narrow rows, about a fifth of the
// client's CPU (issue 18). So a source that can push its rows
// (copyPusher: CopyFromSeq's, and the …Seq methods pgkitgen generates)
// runs its iterator in the caller's goroutine while pgx encodes in its
// own, and the rows go from one to the other a chunk at a time
// (copyChunkValues values, two chunks in turn): one hand-over per chunk.
//
// An iterator may reuse what it yields (a buffer, the variable a pointer
// points to) once the next row is asked for, and pgx encodes a row
// before it asks for the next; a chunk must not hold on to what may
// change. So a value is copied into the chunk only when holding the copy
// is holding the value: nil, booleans, numbers, strings, time.Time and
// pgtype's scalar values, pointers of common types as their values
// (args.go), and []byte up to copyHeldBytes, copied. A row with any other
// value (a slice, a map, a pointer pgx dereferences itself) goes out with
// the rows before it, and the iterator waits until pgx has encoded it, as
// Pull's would. A row's values count as read only once pgx encoded them:
// the consumer gives a chunk back when it asks for the row after its last.
//
// The iterator starts only once pgx asks for the first row, after it has
// described the table: a COPY that fails before (no such table) reads no
// row, as with Pull. At most two chunks are read ahead of what pgx has
// encoded.

import (
	"errors"
	"net/netip"
	"reflect"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// copyPusher is a COPY source that can push its rows: PgkitCopyEach
// returns a function that calls emit with each row's values (valid only
// during the call) until the rows end or emit returns false, and returns
// the source's error; nil when the source does not push (sqlc's slice).
// held says that every value it emits is holdable (a pgkitgen source
// whose columns are all of such types): the values are then copied as
// they are, unchecked.
type copyPusher interface {
	PgkitCopyEach() (each func(emit func([]any) bool) error, held bool)
}

// copyChunkValues bounds the values of one chunk; copyHeldBytes the bytes
// of one []byte copied into it (a larger one is encoded before the
// iterator goes on); copyChunkBytes the bytes copied into one chunk.
const (
	copyChunkValues = 4096
	copyHeldBytes   = 4096
	copyChunkBytes  = 256 << 10
)

// copyFromSource runs copy, which COPYs the rows of the source it is given
// (pgx's CopyFrom on one connection), on src's rows handed to pgx as
// values: pushed when src can push them, else through concreteSource.
func copyFromSource(src pgx.CopyFromSource, copy func(pgx.CopyFromSource) (int64, error)) (int64, error) {
	if p, ok := src.(copyPusher); ok {
		if each, held := p.PgkitCopyEach(); each != nil {
			return pushCopy(each, held, copy)
		}
	}
	return copy(concreteSource(src))
}

// copyChunk is rows passed from the iterator to pgx: their values back
// to back, ends[i] the end of row i.
type copyChunk struct {
	vals  []any
	ends  []int
	bytes int // copied into vals
}

func (c *copyChunk) reset() {
	c.vals, c.ends, c.bytes = c.vals[:0], c.ends[:0], 0
}

// add appends a row, copying what it can hold of vals; false when the row
// holds values that must be encoded before the iterator goes on. held:
// every value is holdable already.
func (c *copyChunk) add(vals []any, held bool) bool {
	if held {
		c.vals = append(c.vals, vals...)
		c.ends = append(c.ends, len(c.vals))
		return true
	}
	held = true
	for _, v := range vals {
		v, _ = concrete(v) // a pointer of a common type as its value (args.go)
		h, n := holdable(v)
		if !h {
			held = false
		} else if b, ok := v.([]byte); ok && b != nil {
			v = append(make([]byte, 0, len(b)), b...)
			c.bytes += n
		}
		c.vals = append(c.vals, v)
	}
	c.ends = append(c.ends, len(c.vals))
	return held
}

func (c *copyChunk) full() bool {
	return len(c.vals) >= copyChunkValues || c.bytes >= copyChunkBytes
}

// holdable reports whether a copy of v may be encoded after the iterator
// went on (see the top of this file), and for a []byte to copy its length.
func holdable(v any) (bool, int) {
	switch v := v.(type) {
	case nil, string, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64,
		float32, float64, time.Time, time.Duration, netip.Addr, netip.Prefix, [16]byte,
		pgtype.Text, pgtype.Bool, pgtype.Int2, pgtype.Int4, pgtype.Int8, pgtype.Float4, pgtype.Float8,
		pgtype.Timestamptz, pgtype.Timestamp, pgtype.Date, pgtype.UUID, pgtype.Interval, pgtype.Time:
		return true, 0
	case []byte:
		return len(v) <= copyHeldBytes, len(v)
	}
	// A named boolean, number or string (an enum): a value, whatever its
	// methods.
	switch reflect.TypeOf(v).Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.String:
		return true, 0
	}
	return false, 0
}

// pushedRows is the pgx.CopyFromSource pgx reads pushed rows from.
type pushedRows struct {
	full    chan *copyChunk // from the iterator; closed after the last row
	free    chan *copyChunk // back to the iterator, encoded
	started chan struct{}   // closed at the first Next: pgx has described the table
	begun   bool
	cur     *copyChunk
	row     int // the current row of cur, from 1
	mu      sync.Mutex
	err     error // the iterator's error, set before full is closed
}

// Next moves to the next row; a chunk whose rows pgx has all encoded goes
// back to the iterator.
func (r *pushedRows) Next() bool {
	if !r.begun {
		r.begun = true
		close(r.started)
	}
	for {
		if r.cur != nil {
			if r.row < len(r.cur.ends) {
				r.row++
				return true
			}
			r.free <- r.cur // never blocks: free holds every chunk
			r.cur = nil
		}
		c, ok := <-r.full
		if !ok {
			return false
		}
		r.cur, r.row = c, 0
	}
}

// Values returns the current row's values.
func (r *pushedRows) Values() ([]any, error) {
	start := 0
	if r.row > 1 {
		start = r.cur.ends[r.row-2]
	}
	return r.cur.vals[start:r.cur.ends[r.row-1]], nil
}

// Err is the iterator's error, which aborts the COPY.
func (r *pushedRows) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

func (r *pushedRows) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = err
	}
}

// errCopySourcePanicked aborts the COPY of an iterator that panicked; the
// panic goes on in the caller's goroutine once the COPY has ended.
var errCopySourcePanicked = errors.New("pgkit: the COPY's row iterator panicked")

// errCopySourceExited aborts the COPY of an iterator that ended its
// goroutine (runtime.Goexit) instead of returning.
var errCopySourceExited = errors.New("pgkit: the COPY's row iterator exited its goroutine (runtime.Goexit)")

// pushCopy runs copy on the rows each pushes, each in the calling
// goroutine and copy in another (see the top of this file).
func pushCopy(each func(emit func([]any) bool) error, held bool, copy func(pgx.CopyFromSource) (int64, error)) (n int64, err error) {
	r := &pushedRows{full: make(chan *copyChunk, 1), free: make(chan *copyChunk, 2), started: make(chan struct{})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		n, err = copy(r)
	}()
	closed, finished := false, false
	finish := func() {
		if !closed {
			closed = true
			close(r.full)
		}
		<-done
		finished = true
	}
	defer func() {
		if p := recover(); p != nil {
			r.fail(errCopySourcePanicked)
			finish()
			panic(p)
		}
		if !finished {
			// No panic, and not returned: the iterator called
			// runtime.Goexit (t.FailNow in a test's generator). The COPY
			// is aborted and waited for before the goroutine goes on
			// exiting, so that the connection is given back idle.
			r.fail(errCopySourceExited)
			finish()
		}
	}()
	select {
	case <-r.started:
	case <-done: // pgx failed before the first row: none is read
		finished = true
		return n, err
	}
	chunks := []*copyChunk{newCopyChunk(), newCopyChunk()}
	cur := chunks[0]
	spare := chunks[1:]
	// send hands cur to pgx and takes an empty chunk; with wait, it first
	// waits until pgx has encoded every row sent. false once pgx stopped.
	send := func(wait bool) bool {
		select {
		case r.full <- cur:
		case <-done:
			return false
		}
		cur = nil
		for len(spare) < len(chunks)-1 || wait && len(spare) < len(chunks) {
			select {
			case c := <-r.free:
				c.reset()
				spare = append(spare, c)
			case <-done:
				return false
			}
		}
		cur, spare = spare[len(spare)-1], spare[:len(spare)-1]
		return true
	}
	stopped := false // pgx stopped reading: an iterator that goes on is told so again
	emit := func(vals []any) bool {
		switch {
		case stopped:
		case !cur.add(vals, held):
			stopped = !send(true)
		case cur.full():
			stopped = !send(false)
		}
		return !stopped
	}
	srcErr := each(emit)
	switch {
	case srcErr != nil:
		r.fail(srcErr)
	case !stopped && len(cur.ends) > 0:
		select {
		case r.full <- cur:
		case <-done:
		}
	}
	finish()
	if err == nil {
		err = srcErr // pgx aborts on it; in case it had ended already
	}
	return n, err
}

func newCopyChunk() *copyChunk {
	return &copyChunk{vals: make([]any, 0, copyChunkValues+64), ends: make([]int, 0, 256)}
}
