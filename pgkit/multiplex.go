package pgkit

// Multiplexing: autocommit statements of any number of goroutines share a
// few connections, pipelined. pgx has explicit batches only (pgx #1091 and
// #1113 ask for this), so it is written here, on pgx's exported pieces:
// pgconn.Pipeline for the wire, pgx.ExtendedQueryBuilder for the arguments,
// pgx.ScanRow for the generated Scan calls.
//
// A lane is one pooled connection in pipeline mode with one goroutine that
// writes what callers queued and reads the results back in order. Every
// statement is followed by its own Sync, so each runs in its own implicit
// transaction: one caller's failure never touches another's. Rows are
// copied out of the connection's buffer as they arrive, so the lane never
// waits for a caller to read them.

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrSessionState is matched (errors.Is) by the error of a statement that a
// multiplexing DB refuses because it would change the state of a
// connection other callers share: SET, temporary tables, session advisory
// locks, LISTEN, PREPARE, cursors, explicit BEGIN/COMMIT. Run it in a
// transaction (WithTx), where it has the connection to itself, or on
// DB.Pool().
var ErrSessionState = errors.New("statement would change the state of a shared connection")

// Multiplexing defaults; see Config.Multiplex.
const (
	// DefaultMultiplexDepth is how many statements one connection carries
	// at once, written or waiting to be, before new ones go elsewhere or
	// wait (postgres.js's max_pipeline is 100 too).
	DefaultMultiplexDepth = 100
	// multiplexLinger is how long an idle lane keeps its connection before
	// giving it back to the pool for transactions and streams.
	multiplexLinger = 20 * time.Millisecond
	// cancelDelay is how long a statement whose caller left may go on
	// running before pgkit asks the server to cancel it: most end sooner,
	// and reading and dropping their result costs less than a cancel
	// request (a new connection to the server).
	cancelDelay = 50 * time.Millisecond
	// abandonGrace is how long a query whose caller left may run on after
	// pgkit asked the server to cancel it. A server that answers neither
	// the query nor the cancel in that time cannot be waited for: the
	// connection is closed, and the statements in flight on it fail with a
	// connection-lost error.
	abandonGrace = 2 * time.Second
	// collateralWindow: a statement that fails with query_canceled (57014)
	// this soon after pgkit cancelled an abandoned one on the same
	// connection may have been hit by that cancel instead (the server had
	// moved on), and is sent again once. It ran in its own implicit
	// transaction, which the cancel rolled back, so resending is safe.
	collateralWindow = time.Second
	// maxCheckedSQL caps the SQL texts whose verdict (session statement or
	// not) is remembered.
	maxCheckedSQL = 10_000
)

// mux spreads autocommit statements over lanes. Callers append to one
// queue; each lane takes from it as much as its depth allows whenever it is
// ready to write, so work goes to the connections that are free, and a
// connection stuck behind a slow statement takes no more.
type mux struct {
	pool           *pgxpool.Pool
	acquireTimeout time.Duration
	depth          int // Config.MultiplexDepth
	maxLanes       int // Config.MultiplexConns
	cacheCap       int // prepared statements per connection
	tracer         pgx.QueryTracer

	ctx    context.Context // ends when the DB closes; lanes start under it
	cancel context.CancelFunc

	maps     sync.Pool // *pgtype.Map for decoding rows in callers' goroutines
	checked  sync.Map  // sql → error (nil: may be multiplexed)
	checkedN atomic.Int64

	mu       sync.Mutex
	queue    []*request // accepted, not yet taken by a lane
	pending  int        // accepted, not yet answered: at most maxLanes × depth
	lanes    []*lane
	idle     []*lane // lanes waiting for work
	starting int
	waiters  int
	room     chan struct{} // closed when a statement is answered and someone waits
	closed   bool
	conns    map[*pgconn.PgConn]*connStmts // prepared statements, per connection
	stats    MultiplexStats
}

// MultiplexStats counts what the multiplexer did, for metrics and tests.
type MultiplexStats struct {
	Lanes      int   // connections in pipeline mode right now
	Statements int64 // statements multiplexed so far
	Prepares   int64 // statements prepared on a connection
	Waited     int64 // statements that waited for room (every lane at its depth)
	Resent     int64 // statements sent again (hit by a cancel meant for another, stale prepared statement)
	Cancels    int64 // cancel requests sent for abandoned statements
	LanesLost  int64 // lanes whose connection broke
}

func newMux(pool *pgxpool.Pool, cfg Config, acquireTimeout time.Duration, tracer pgx.QueryTracer) *mux {
	depth := cfg.MultiplexDepth
	if depth <= 0 {
		depth = DefaultMultiplexDepth
	}
	lanes := int(cfg.MultiplexConns)
	if lanes <= 0 || lanes > int(pool.Config().MaxConns) {
		lanes = int(pool.Config().MaxConns)
	}
	cacheCap := pool.Config().ConnConfig.StatementCacheCapacity
	if cacheCap <= 0 {
		cacheCap = 512
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &mux{
		pool: pool, acquireTimeout: acquireTimeout, depth: depth, maxLanes: lanes, cacheCap: cacheCap, tracer: tracer,
		ctx: ctx, cancel: cancel,
		room:  make(chan struct{}),
		conns: map[*pgconn.PgConn]*connStmts{},
	}
	m.maps.New = func() any { return pgtype.NewMap() }
	return m
}

// forget drops what is cached for a connection the pool closes.
func (m *mux) forget(c *pgconn.PgConn) {
	m.mu.Lock()
	delete(m.conns, c)
	m.mu.Unlock()
}

// close stops new statements; lanes answer what they accepted and give
// their connections back, which the pool's Close waits for.
func (m *mux) close() {
	m.mu.Lock()
	m.closed = true
	for _, l := range m.lanes {
		l.poke()
	}
	m.wakeWaiters()
	m.mu.Unlock()
}

// wakeWaiters tells callers waiting for room to look again; m.mu is held.
func (m *mux) wakeWaiters() {
	if m.waiters > 0 {
		close(m.room)
		m.room = make(chan struct{})
	}
}

// Stats reports the multiplexer's lanes and counters.
func (m *mux) Stats() MultiplexStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.stats
	s.Lanes = len(m.lanes)
	return s
}

// multiplexable reports whether args leave the statement to pgkit's
// encoding: pgx's per-query options (exec mode, result formats, named
// arguments and other rewriters) need pgx's own Query path.
func multiplexable(args []any) bool {
	if len(args) == 0 {
		return true
	}
	switch args[0].(type) {
	case pgx.QueryExecMode, pgx.QueryResultFormats, pgx.QueryResultFormatsByOID, pgx.QueryRewriter:
		return false
	}
	return true
}

// check refuses statements that change session state; verdicts are cached
// per SQL text, so each text is looked at once.
func (m *mux) check(sql string) error {
	if v, ok := m.checked.Load(sql); ok {
		if v == nil {
			return nil
		}
		return v.(error)
	}
	var err error
	if what := sessionStatement(sql); what != "" {
		err = fmt.Errorf("pgkit: multiplexed %s: %w; run it in a transaction (WithTx) or on DB.Pool()", what, ErrSessionState)
	}
	// Bounded, as pgx's statement caches are: SQL built with literals must
	// not grow it without end.
	if m.checkedN.Add(1) <= maxCheckedSQL {
		if err == nil {
			m.checked.Store(sql, nil)
		} else {
			m.checked.Store(sql, err)
		}
	}
	return err
}

var (
	sessionFuncs   = regexp.MustCompile(`(?i)\bpg_(try_)?advisory_lock(_shared)?\s*\(`)
	sessionSetConf = regexp.MustCompile(`(?is)\bset_config\s*\(.*,\s*false\s*\)`)
)

// sessionStatement names what in sql would outlive its statement on the
// connection, or returns "". It reads the leading keyword (after comments)
// and looks for the session-level functions; it cannot see inside
// functions the statement calls.
func sessionStatement(sql string) string {
	words := leadingWords(sql, 3)
	if len(words) == 0 {
		return ""
	}
	switch words[0] {
	case "SET":
		if len(words) > 1 && words[1] == "LOCAL" {
			return "" // no effect outside a transaction block
		}
		return "SET"
	case "RESET", "BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE",
		"PREPARE", "DEALLOCATE", "DISCARD", "LISTEN", "UNLISTEN", "DECLARE", "CLOSE", "FETCH", "MOVE", "LOAD":
		return words[0]
	case "CREATE":
		for _, w := range words[1:] {
			if w == "TEMP" || w == "TEMPORARY" {
				return "CREATE TEMPORARY"
			}
		}
	}
	if sessionFuncs.MatchString(sql) {
		return "session advisory lock"
	}
	if sessionSetConf.MatchString(sql) {
		return "set_config(…, false)"
	}
	return ""
}

// leadingWords returns up to n leading keywords of sql, upper-cased,
// skipping whitespace and comments.
func leadingWords(sql string, n int) []string {
	var words []string
	s := sql
	for len(words) < n {
		s = strings.TrimLeft(s, " \t\r\n;(")
		switch {
		case strings.HasPrefix(s, "--"):
			i := strings.IndexByte(s, '\n')
			if i < 0 {
				return words
			}
			s = s[i+1:]
			continue
		case strings.HasPrefix(s, "/*"):
			i := strings.Index(s, "*/")
			if i < 0 {
				return words
			}
			s = s[i+2:]
			continue
		}
		end := strings.IndexFunc(s, func(r rune) bool {
			return !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
		})
		if end < 0 {
			end = len(s)
		}
		if end == 0 {
			return words
		}
		words = append(words, strings.ToUpper(s[:end]))
		s = s[end:]
	}
	return words
}

// request is one statement on its way through a lane.
type request struct {
	ctx  context.Context
	sql  string
	args []any

	lane      atomic.Pointer[lane]
	abandoned atomic.Bool // the caller's context ended; nobody reads the result
	watched   atomic.Bool // a cancel is planned for it
	resent    int         // lane goroutine only
	tctx      context.Context

	done chan struct{} // closed once res is set
	res  result
}

// result is what a statement produced: rows copied out of the connection's
// buffer, or its command tag, or its error.
type result struct {
	fields []pgconn.FieldDescription // shared, read-only
	values [][]byte                  // rows × len(fields)
	tag    pgconn.CommandTag
	err    error
}

// do runs one statement on a lane and waits for its result or for ctx.
func (m *mux) do(ctx context.Context, sql string, args []any) (*result, error) {
	if err := m.check(sql); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	req := &request{ctx: ctx, sql: sql, args: args, done: make(chan struct{})}
	if err := m.enqueue(ctx, req); err != nil {
		return nil, err
	}
	select {
	case <-req.done:
		return &req.res, req.res.err
	case <-ctx.Done():
	}
	// The caller leaves at once. The lane reads the result and drops it;
	// if the statement is the one running, it is cancelled on the server
	// unless it ends by itself first.
	req.abandoned.Store(true)
	if l := req.lane.Load(); l != nil && l.head.Load() == req {
		l.watch(req)
	}
	return nil, ctx.Err()
}

// enqueue accepts req when fewer than maxLanes × depth statements are
// unanswered, waiting for room at most the acquire timeout, and makes sure
// a lane will take it.
func (m *mux) enqueue(ctx context.Context, req *request) error {
	var timeout <-chan time.Time
	m.mu.Lock()
	for m.pending >= m.maxLanes*m.depth && !m.closed {
		if timeout == nil && m.acquireTimeout >= 0 {
			t := time.NewTimer(m.acquireTimeout)
			defer t.Stop()
			timeout = t.C
			m.stats.Waited++
		}
		m.waiters++
		room := m.room
		m.mu.Unlock()
		var err error
		select {
		case <-room:
		case <-ctx.Done():
			err = ctx.Err()
		case <-timeout:
			st := m.pool.Stat()
			err = &PoolExhaustedError{Waited: m.acquireTimeout, InUse: st.AcquiredConns(), MaxConns: st.MaxConns()}
		}
		m.mu.Lock()
		m.waiters--
		if err != nil {
			m.mu.Unlock()
			return err
		}
	}
	if m.closed {
		m.mu.Unlock()
		return errors.New("pgkit: the DB is closed")
	}
	m.pending++
	m.stats.Statements++
	m.queue = append(m.queue, req)
	m.kick()
	m.mu.Unlock()
	return nil
}

// kick wakes an idle lane for queued work, or starts one when every lane
// is busy and the cap allows; m.mu is held.
func (m *mux) kick() {
	if n := len(m.idle); n > 0 {
		l := m.idle[n-1]
		m.idle = m.idle[:n-1]
		l.idle = false
		l.poke()
		return
	}
	if len(m.lanes)+m.starting < m.maxLanes && len(m.queue) > m.starting {
		m.starting++
		go m.startLane()
	}
}

// startLane takes a pooled connection and starts a lane on it. When it
// cannot, and no lane is left to take the queue, the queued statements
// fail with its error (ErrPoolExhausted when transactions and streams hold
// every connection for the whole acquire timeout).
func (m *mux) startLane() {
	ctx := m.ctx
	var cancel context.CancelFunc = noCancel
	if m.acquireTimeout >= 0 {
		ctx, cancel = context.WithTimeout(ctx, m.acquireTimeout)
	}
	pc, err := m.pool.Acquire(ctx)
	cancel()
	if err != nil && m.ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		st := m.pool.Stat()
		err = &PoolExhaustedError{Waited: m.acquireTimeout, InUse: st.AcquiredConns(), MaxConns: st.MaxConns()}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.starting--
	if err == nil && m.closed {
		pc.Release()
		err = errors.New("pgkit: the DB is closed")
	}
	if err != nil {
		if len(m.lanes) == 0 && m.starting == 0 {
			err = fmt.Errorf("acquire connection: %w", err)
			for _, req := range m.queue {
				m.answer(req, result{err: err})
			}
			m.queue = m.queue[:0]
		}
		return
	}
	conn := pc.Conn()
	stmts := m.conns[conn.PgConn()]
	if stmts == nil {
		stmts = &connStmts{byName: map[string]*stmt{}}
		m.conns[conn.PgConn()] = stmts
	}
	lctx, lcancel := context.WithCancel(m.ctx)
	l := &lane{
		m: m, pc: pc, conn: conn, pg: conn.PgConn(), stmts: stmts,
		ctx: lctx, cancel: lcancel,
		wake:      make(chan struct{}, 1),
		preparing: map[string][]*request{},
	}
	l.pipe = l.pg.StartPipeline(lctx)
	m.lanes = append(m.lanes, l)
	go l.run()
}

// answer hands req its result; m.mu is held.
func (m *mux) answer(req *request, res result) {
	req.res = res
	close(req.done)
	m.pending--
	m.wakeWaiters()
}

// connStmts is what a connection has prepared, oldest first.
type connStmts struct {
	byName map[string]*stmt // by SQL text
	order  []string
}

// stmt is a statement prepared on a connection, with the result formats
// and field descriptions its results are decoded with.
type stmt struct {
	sd            *pgconn.StatementDescription
	resultFormats []int16
	fields        []pgconn.FieldDescription
}

// wireItem is something written to the connection whose results are
// awaited, in order.
type wireItem struct {
	kind int // itemPrepare, itemQuery or itemDeallocate
	sql  string
	req  *request
	st   *stmt
}

const (
	itemPrepare = iota
	itemQuery
	itemDeallocate
)

// lane is one connection in pipeline mode and the goroutine that drives it.
type lane struct {
	m      *mux
	pc     *pgxpool.Conn
	conn   *pgx.Conn
	pg     *pgconn.PgConn
	ctx    context.Context // the pipeline's; cancelled to give up on the server
	cancel context.CancelFunc
	wake   chan struct{}
	head   atomic.Pointer[request] // the statement whose result is being read

	cancelling     atomic.Int32 // cancel requests under way
	lastCancelDone atomic.Int64 // unix nanoseconds

	idle bool // in m.idle; under m.mu

	// lane goroutine only
	pipe      *pgconn.Pipeline
	stmts     *connStmts
	inflight  int // taken and not yet answered
	wire      []wireItem
	preparing map[string][]*request // statements awaiting their Prepare
	eqb       pgx.ExtendedQueryBuilder
	unflushed bool
	batch     []*request
}

func (l *lane) poke() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// run writes queued statements, reads results in order, and gives the
// connection back once idle for multiplexLinger.
func (l *lane) run() {
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	defer linger.Stop()
	for {
		batch, retire := l.take()
		if retire {
			l.retire()
			return
		}
		for _, req := range batch {
			l.send(req)
		}
		if l.unflushed {
			if err := l.pipe.Flush(); err != nil {
				l.die(err)
				return
			}
			l.unflushed = false
		}
		if len(l.wire) > 0 {
			if err := l.readOne(); err != nil {
				l.die(err)
				return
			}
			continue
		}
		if len(batch) > 0 {
			continue // every one failed before it was sent; look again
		}
		linger.Reset(multiplexLinger)
		select {
		case <-l.wake:
		case <-linger.C:
			if l.retireIfIdle() {
				return
			}
		}
		linger.Stop()
	}
}

// take returns queued statements, as many as the lane's depth has room
// for. With nothing to take and nothing on the wire the lane lists itself
// as idle; retire is true when the DB is closing and the lane is done.
func (l *lane) take() (batch []*request, retire bool) {
	m := l.m
	m.mu.Lock()
	defer m.mu.Unlock()
	// A fair share: the other lanes, busy or being started, take the rest
	// when they come to look, so that a burst is spread over the
	// connections rather than piled on the first that looks (behind a
	// slow statement, perhaps).
	lanes := len(m.lanes) + m.starting
	share := (len(m.queue) + lanes - 1) / lanes
	n := min(m.depth-l.inflight, share)
	if n > 0 {
		batch = append(l.batch[:0], m.queue[:n]...)
		clear(m.queue[:n])
		m.queue = m.queue[n:]
		l.batch = batch
		l.inflight += n
		for _, req := range batch {
			req.lane.Store(l)
		}
		return batch, false
	}
	if len(l.wire) > 0 || len(m.queue) > 0 {
		return nil, false
	}
	if m.closed {
		m.removeLane(l)
		return nil, true
	}
	if !l.idle {
		l.idle = true
		m.idle = append(m.idle, l)
	}
	return nil, false
}

// retireIfIdle gives the connection back if the lane is still idle after
// its linger.
func (l *lane) retireIfIdle() bool {
	m := l.m
	m.mu.Lock()
	if !l.idle || len(m.queue) > 0 {
		m.mu.Unlock()
		return false
	}
	m.removeLane(l)
	m.mu.Unlock()
	l.retire()
	return true
}

// retire closes the pipeline and gives the connection back to the pool.
func (l *lane) retire() {
	err := l.pipe.Close()
	l.cancel()
	if err != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = l.pg.Close(ctx)
		cancel()
	}
	l.pc.Release()
}

// removeLane drops l from the lanes and the idle list; m.mu is held.
func (m *mux) removeLane(l *lane) {
	if i := slices.Index(m.lanes, l); i >= 0 {
		m.lanes = slices.Delete(m.lanes, i, i+1)
	}
	if i := slices.Index(m.idle, l); i >= 0 {
		m.idle = slices.Delete(m.idle, i, i+1)
	}
	l.idle = false
}

// send writes req, or its statement's Prepare when this connection has not
// prepared it yet.
func (l *lane) send(req *request) {
	if req.abandoned.Load() {
		l.deliver(req, result{err: req.ctx.Err()})
		return
	}
	if t := l.m.tracer; t != nil && req.tctx == nil {
		req.tctx = t.TraceQueryStart(req.ctx, l.conn, pgx.TraceQueryStartData{SQL: req.sql, Args: req.args})
	}
	if st := l.stmts.byName[req.sql]; st != nil {
		l.sendQuery(req, st)
		return
	}
	if waiting, ok := l.preparing[req.sql]; ok {
		l.preparing[req.sql] = append(waiting, req)
		return
	}
	if len(l.stmts.order) >= l.m.cacheCap {
		oldest := l.stmts.order[0]
		l.stmts.order = l.stmts.order[1:]
		delete(l.stmts.byName, oldest)
		l.pipe.SendDeallocate(stmtName(oldest))
		l.pipe.SendPipelineSync()
		l.wire = append(l.wire, wireItem{kind: itemDeallocate})
	}
	l.preparing[req.sql] = []*request{req}
	l.pipe.SendPrepare(stmtName(req.sql), req.sql, nil)
	l.pipe.SendPipelineSync()
	l.wire = append(l.wire, wireItem{kind: itemPrepare, sql: req.sql})
	l.unflushed = true
}

// sendQuery writes req's Bind, Execute and Sync.
func (l *lane) sendQuery(req *request, st *stmt) {
	if err := l.eqb.Build(l.conn.TypeMap(), st.sd, req.args); err != nil {
		l.deliver(req, result{err: err})
		return
	}
	l.pipe.SendQueryStatement(st.sd, l.eqb.ParamValues, l.eqb.ParamFormats, st.resultFormats)
	l.pipe.SendPipelineSync()
	l.wire = append(l.wire, wireItem{kind: itemQuery, req: req, st: st})
	l.unflushed = true
}

// stmtName names sql's prepared statement: the same on every connection,
// and apart from pgx's own (stmtcache_…).
func stmtName(sql string) string {
	return fmt.Sprintf("pgkit_%016x", fnv64(sql))
}

func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// readOne reads the results of the oldest item on the wire, up to and
// including its Sync. An error returned means the connection is broken.
func (l *lane) readOne() error {
	it := l.wire[0]
	copy(l.wire, l.wire[1:])
	l.wire = l.wire[:len(l.wire)-1]
	switch it.kind {
	case itemDeallocate:
		if _, err := l.pipe.GetResults(); err != nil && !isPgError(err) {
			return err
		}
		return l.readSync()
	case itemPrepare:
		return l.readPrepare(it.sql)
	}
	req := it.req
	l.head.Store(req)
	if req.abandoned.Load() {
		l.watch(req)
	}
	res, fatal := l.readQuery(req, it.st)
	l.head.Store(nil)
	if fatal != nil {
		l.deliver(req, result{err: fatal})
		return fatal
	}
	if err := l.readSync(); err != nil {
		l.deliver(req, result{err: err})
		return err
	}
	if l.resend(req, it.st, res.err) {
		return nil
	}
	l.deliver(req, res)
	return nil
}

// readQuery reads one statement's rows or error; fatal is not nil when the
// connection broke.
func (l *lane) readQuery(req *request, st *stmt) (res result, fatal error) {
	r, err := l.pipe.GetResults()
	if err != nil {
		if isFatal(err) {
			return res, err
		}
		return result{err: err}, nil
	}
	rr, ok := r.(*pgconn.ResultReader)
	if !ok {
		return res, fmt.Errorf("pgkit: multiplexed %s: unexpected pipeline result %T", req.sql, r)
	}
	if req.abandoned.Load() {
		for rr.NextRow() {
		}
	} else {
		res = copyRows(rr, st.fields)
	}
	tag, err := rr.Close()
	if err != nil {
		if isFatal(err) {
			return res, err
		}
		return result{err: err}, nil
	}
	res.tag = tag
	return res, nil
}

// copyRows copies every row of rr out of the connection's read buffer: one
// byte arena, and one [][]byte over it.
func copyRows(rr *pgconn.ResultReader, fields []pgconn.FieldDescription) result {
	var arena []byte
	var ends []int // end of each value in arena; -1 for NULL
	for rr.NextRow() {
		for _, v := range rr.Values() {
			if v == nil {
				ends = append(ends, -1)
				continue
			}
			arena = append(arena, v...)
			ends = append(ends, len(arena))
		}
	}
	values := make([][]byte, len(ends))
	start := 0
	for i, end := range ends {
		if end < 0 {
			continue
		}
		values[i] = arena[start:end:end]
		start = end
	}
	return result{fields: fields, values: values}
}

// readPrepare reads a Prepare's description, then writes the statements
// that waited for it.
func (l *lane) readPrepare(sql string) error {
	r, err := l.pipe.GetResults()
	waiting := l.preparing[sql]
	delete(l.preparing, sql)
	if err != nil {
		if isFatal(err) {
			for _, req := range waiting {
				l.deliver(req, result{err: err})
			}
			return err
		}
		if serr := l.readSync(); serr != nil {
			err = serr
		}
		for _, req := range waiting {
			l.deliver(req, result{err: err})
		}
		return nil
	}
	sd := r.(*pgconn.StatementDescription)
	sd.Name, sd.SQL = stmtName(sql), sql
	st := &stmt{sd: sd, resultFormats: make([]int16, len(sd.Fields)), fields: make([]pgconn.FieldDescription, len(sd.Fields))}
	tm := l.conn.TypeMap()
	for i, f := range sd.Fields {
		st.resultFormats[i] = tm.FormatCodeForOID(f.DataTypeOID)
		st.fields[i] = f
		st.fields[i].Format = st.resultFormats[i]
	}
	l.stmts.byName[sql] = st
	l.stmts.order = append(l.stmts.order, sql)
	l.m.mu.Lock()
	l.m.stats.Prepares++
	l.m.mu.Unlock()
	if err := l.readSync(); err != nil {
		for _, req := range waiting {
			l.deliver(req, result{err: err})
		}
		return err
	}
	for _, req := range waiting {
		l.send(req)
	}
	return nil
}

// readSync reads the ReadyForQuery that ends an item, and makes sure the
// item left no transaction open on the shared session.
func (l *lane) readSync() error {
	r, err := l.pipe.GetResults()
	if err != nil {
		return err
	}
	if _, ok := r.(*pgconn.PipelineSync); !ok {
		return fmt.Errorf("pgkit: multiplexed connection out of step: %T where a Sync was due", r)
	}
	if l.pg.TxStatus() != 'I' {
		return fmt.Errorf("pgkit: a multiplexed statement left a transaction open: %w", ErrSessionState)
	}
	return nil
}

// resend sends req again when its failure says it did not run for its own
// reasons: hit by a cancel meant for another statement, or its prepared
// statement went stale (DISCARD, DEALLOCATE, or a schema change that alters
// its result columns). It reports whether req was sent again.
func (l *lane) resend(req *request, st *stmt, err error) bool {
	if err == nil || req.abandoned.Load() || req.resent >= 2 {
		return false
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	switch {
	case pgErr.Code == "57014" && (l.cancelling.Load() > 0 || time.Since(time.Unix(0, l.lastCancelDone.Load())) < collateralWindow):
	case pgErr.Code == "26000" || pgErr.Code == "0A000" && strings.Contains(pgErr.Message, "cached plan"):
		if l.stmts.byName[req.sql] == st {
			delete(l.stmts.byName, req.sql)
			if i := slices.Index(l.stmts.order, req.sql); i >= 0 {
				l.stmts.order = slices.Delete(l.stmts.order, i, i+1)
			}
			// The server may still hold the old one under the same name.
			l.pipe.SendDeallocate(stmtName(req.sql))
			l.pipe.SendPipelineSync()
			l.wire = append(l.wire, wireItem{kind: itemDeallocate})
			l.unflushed = true
		}
	default:
		return false
	}
	req.resent++
	l.m.mu.Lock()
	l.m.stats.Resent++
	l.m.mu.Unlock()
	l.send(req)
	return true
}

// watch plans the cancellation of req, an abandoned statement whose result
// the lane is waiting for: if it is still running after cancelDelay, the
// server is asked to cancel it, and if it still has not answered
// abandonGrace later, the connection is given up.
func (l *lane) watch(req *request) {
	if !req.watched.CompareAndSwap(false, true) {
		return
	}
	time.AfterFunc(cancelDelay, func() {
		if l.head.Load() != req {
			return // it ended by itself
		}
		l.cancelling.Add(1)
		l.m.mu.Lock()
		l.m.stats.Cancels++
		l.m.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), abandonGrace)
		_ = l.pg.CancelRequest(ctx) // best effort: the grace below backs it up
		cancel()
		l.lastCancelDone.Store(time.Now().UnixNano())
		l.cancelling.Add(-1)
		time.AfterFunc(abandonGrace, func() {
			if l.head.Load() == req {
				l.cancel()
			}
		})
	})
}

// deliver hands req its result.
func (l *lane) deliver(req *request, res result) {
	if t := l.m.tracer; t != nil && req.tctx != nil {
		err := res.err
		if err == nil && req.abandoned.Load() {
			err = req.ctx.Err()
		}
		t.TraceQueryEnd(req.tctx, l.conn, pgx.TraceQueryEndData{CommandTag: res.tag, Err: err})
	}
	l.inflight--
	l.m.mu.Lock()
	l.m.answer(req, res)
	l.m.mu.Unlock()
}

// die fails every statement in flight with err, puts the ones taken but
// not yet sent back in the queue, and closes the connection.
func (l *lane) die(err error) {
	lost := fmt.Errorf("connection lost with the statement in flight: %w", err)
	var unsent []*request
	for _, it := range l.wire {
		switch it.kind {
		case itemQuery:
			l.deliver(it.req, result{err: lost})
		case itemPrepare:
			unsent = append(unsent, l.preparing[it.sql]...)
		}
	}
	l.wire = nil
	l.cancel()
	_ = l.pipe.Close()
	closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
	_ = l.pg.Close(closeCtx)
	cancel()
	l.pc.Release()

	m := l.m
	m.mu.Lock()
	m.removeLane(l)
	m.stats.LanesLost++
	delete(m.conns, l.pg)
	m.queue = append(unsent, m.queue...)
	if len(m.queue) > 0 {
		m.kick()
	}
	m.mu.Unlock()
}

// isPgError reports an error the server sent about a statement.
func isPgError(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr)
}

// isFatal reports an error after which the connection is unusable: not a
// statement's error from the server, or one that ended the session.
func isFatal(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return true
	}
	return pgErr.Severity == "FATAL" || pgErr.Severity == "PANIC"
}
