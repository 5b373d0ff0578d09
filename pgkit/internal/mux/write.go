package mux

import (
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
)

// writer writes what its lane encoded, in order, never blocking the
// lane, so that the lane goes on reading results while megabytes of
// arguments are on their way: a server blocked sending results nobody
// reads stops reading what is sent to it, and a lane that wrote and read
// in turn could wait on it for ever. (pgconn guards its own writes the
// same way, with a background reader.) The lane writes itself, without
// waiting, when nothing is queued (write_unix.go: one goroutine switch
// fewer per write); what the socket does not take at once, and every
// write on a connection without a file descriptor of its own (TLS), goes
// to the writer's goroutine, which may wait.
type writer struct {
	conn     net.Conn
	direct   *directWrite  // nil: every write goes through run
	progress *atomic.Int64 // the lane's
	writes   *atomic.Int64 // the Mux's

	mu     sync.Mutex
	busy   bool   // a write is under way, the lane's or run's
	queued []byte // handed over, not yet written
	free   []byte // a written buffer, for the lane to reuse
	err    error  // the write that failed: the writer has stopped
	wake   chan struct{}
	quit   chan struct{}
	done   chan struct{}
	once   sync.Once
}

// maxKeptBuffer caps the buffer a writer keeps for reuse: one statement's
// 64 MB of arguments must not stay allocated for the lane's life.
const maxKeptBuffer = 1 << 20

func newWriter(conn net.Conn, progress, writes *atomic.Int64) *writer {
	w := &writer{conn: conn, progress: progress, writes: writes,
		wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	if raw := rawConn(conn); raw != nil {
		w.direct = newDirectWrite(raw)
	}
	return w
}

// run writes what is handed over until stop.
func (w *writer) run() {
	defer close(w.done)
	for {
		w.mu.Lock()
		buf := w.queued
		w.queued = nil
		w.busy = len(buf) > 0 || w.err != nil
		w.mu.Unlock()
		if len(buf) == 0 {
			select {
			case <-w.wake:
				continue
			case <-w.quit:
				return
			}
		}
		_, err := w.conn.Write(buf)
		w.writes.Add(1)
		w.progress.Add(1)
		w.mu.Lock()
		if err != nil {
			w.fail(err)
			<-w.quit
			return
		}
		if w.free == nil && cap(buf) <= maxKeptBuffer {
			w.free = buf[:0]
		}
		w.mu.Unlock()
	}
}

// fail records the write that failed; w.mu is held, and is released.
func (w *writer) fail(err error) {
	w.err = err
	w.busy = true // nothing is written after a failed write
	w.mu.Unlock()
	// The lane may be waiting for results that will never come: its read
	// fails now, and it closes the connection.
	_ = w.conn.SetDeadline(time.Unix(1, 0))
}

// hand gives out to the writer and returns an empty buffer to encode into.
func (w *writer) hand(out []byte) []byte {
	w.mu.Lock()
	if w.direct != nil && !w.busy && len(w.queued) == 0 {
		// Nothing is being written: the lane writes what the socket
		// takes without waiting, and leaves the rest to run.
		w.busy = true
		w.mu.Unlock()
		n, err := w.direct.try(out) // busy: only the lane is here
		w.writes.Add(1)
		w.progress.Add(1)
		w.mu.Lock()
		if err != nil {
			w.fail(err)
			return out[:0]
		}
		if n == len(out) {
			w.busy = false
			w.mu.Unlock()
			return out[:0]
		}
		w.queued = out[n:] // run writes it, and keeps it as its free buffer
		out = w.free
		w.free = nil
		w.mu.Unlock()
		w.poke()
		return out
	}
	if len(w.queued) == 0 {
		w.queued, out = out, w.free
		w.free = nil
	} else {
		w.queued = append(w.queued, out...)
		out = out[:0]
	}
	w.mu.Unlock()
	w.poke()
	return out
}

func (w *writer) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// failed returns the error of the write that failed, if one did.
func (w *writer) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// stop ends the writer and waits for it: a write under way ends when the
// connection is closed or has its deadline set.
func (w *writer) stop() {
	w.once.Do(func() { close(w.quit) })
	<-w.done
}

// wireItem is something written to the connection whose results are
// awaited, in order.
type wireItem struct {
	kind int // itemPrepare, itemQuery or itemDeallocate
	sql  string
	req  *request
	st   *stmt
	slow bool // counted in lane.slowInFlight
}

const (
	itemPrepare = iota
	itemQuery
	itemDeallocate
)

// sendBatch encodes what take returned (or statements whose Prepare just
// came back, or one sent again). Statements known to be slow go last, and
// nothing is written behind one: the rest go back to the queue for other
// lanes, rather than wait behind it (head-of-line blocking).
func (l *lane) sendBatch(batch []*request) {
	var slow []*request
	for i, req := range batch {
		if l.slowInFlight > 0 {
			l.giveBack(append(slow, batch[i:]...))
			return
		}
		st := l.current(req.sql)
		if st.slow() {
			slow = append(slow, req)
			continue
		}
		l.send(req, st)
	}
	for i, req := range slow {
		if l.slowInFlight > 0 {
			l.giveBack(slow[i:])
			return
		}
		l.send(req, l.current(req.sql))
	}
}

// giveBack returns statements the lane took but will not send to the
// front of the queue.
func (l *lane) giveBack(reqs []*request) {
	m := l.m
	m.mu.Lock()
	m.queue = append(slices.Clone(reqs), m.queue...)
	l.inflight -= len(reqs)
	m.planSweep()
	m.kick()
	m.mu.Unlock()
}

// send encodes req, or its statement's Prepare when this connection has
// not prepared it yet (st, its entry in l.stmts, is nil).
func (l *lane) send(req *request, st *stmt) {
	if req.abandoned.Load() {
		l.deliver(req, result{err: req.ctx.Err()})
		return
	}
	if t := l.m.cfg.Tracer; t != nil && req.tctx == nil {
		req.tctx = t.TraceQueryStart(req.ctx, l.conn, pgx.TraceQueryStartData{SQL: req.sql, Args: req.args})
	}
	if st != nil {
		l.sendQuery(req, st)
		return
	}
	if waiting, ok := l.preparing[req.sql]; ok {
		l.preparing[req.sql] = append(waiting, req)
		return
	}
	if len(l.stmts.order) >= l.m.cacheCap {
		l.forget(l.stmts.order[0])
	}
	l.preparing[req.sql] = []*request{req}
	name := stmtName(req.sql)
	l.out, _ = (&pgproto3.Parse{Name: name, Query: req.sql}).Encode(l.out)
	l.out, _ = (&pgproto3.Describe{ObjectType: 'S', Name: name}).Encode(l.out)
	l.out, _ = (&pgproto3.Sync{}).Encode(l.out)
	l.wire = append(l.wire, wireItem{kind: itemPrepare, sql: req.sql})
}

// sendDeallocate encodes the closing of sql's prepared statement.
func (l *lane) sendDeallocate(sql string) {
	l.out, _ = (&pgproto3.Close{ObjectType: 'S', Name: stmtName(sql)}).Encode(l.out)
	l.out, _ = (&pgproto3.Sync{}).Encode(l.out)
	l.wire = append(l.wire, wireItem{kind: itemDeallocate})
}

// sendQuery encodes req's Bind, Execute and Sync.
func (l *lane) sendQuery(req *request, st *stmt) {
	if err := l.eqb.Build(l.conn.TypeMap(), st.sd, req.args); err != nil {
		l.deliver(req, result{err: err})
		return
	}
	bind := pgproto3.Bind{PreparedStatement: st.sd.Name, ParameterFormatCodes: l.eqb.ParamFormats,
		Parameters: l.eqb.ParamValues, ResultFormatCodes: st.resultFormats}
	out, err := bind.Encode(l.out)
	if err != nil { // too many parameters, a value over 1 GB: nothing was written
		l.deliver(req, result{err: err})
		return
	}
	if len(l.wire) > 0 {
		l.m.pipelined.Add(1)
	}
	l.out, _ = (&pgproto3.Execute{}).Encode(out)
	l.out, _ = (&pgproto3.Sync{}).Encode(l.out)
	slow := st.slow()
	l.wire = append(l.wire, wireItem{kind: itemQuery, req: req, st: st, slow: slow})
	if slow {
		l.slowInFlight++
	}
}

// flush hands what was encoded since the last flush to the writer.
func (l *lane) flush() {
	if len(l.out) == 0 {
		l.flushed = len(l.wire)
		return
	}
	if l.flushed == 0 {
		l.lastRead = time.Now() // the server was idle: the clock of the next result starts now
	}
	l.out = l.w.hand(l.out)
	l.flushed = len(l.wire)
}
