package pgkit

// Multiplexing: autocommit statements of any number of goroutines share a
// few connections, pipelined. pgx has explicit batches only (pgx #1091 and
// #1113 ask for this), so it is written here, on pgx's exported pieces:
// pgconn's Frontend and ReceiveMessage for the wire (its Pipeline type keeps
// a container/list per request, a quarter of the allocations when measured),
// pgx.ExtendedQueryBuilder for the arguments, pgtype's scan plans for the
// generated Scan calls.
//
// A lane is one pooled connection in pipeline mode with one goroutine that
// writes what callers queued and reads the results back in order. Every
// statement is followed by its own Sync, so each runs in its own implicit
// transaction: one caller's failure never touches another's. Rows are
// copied out of the connection's buffer as they arrive, so the lane never
// waits for a caller to read them.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
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
	// maxSQLInfo caps the SQL texts the multiplexer remembers (sqlInfo).
	maxSQLInfo = 10_000
)

// DefaultMultiplexConns is Config.MultiplexConns's default for a pool of
// maxConns: one and a half connections per CPU the Go runtime uses, at
// least 2, and at most maxConns−1 so that a transaction or a stream always
// finds a connection. Measured on the bench machine (2 CPUs, server on the
// same host), 3 lanes beat 2, 4, 8 and 16 on both the point and the page
// workload: each lane is a goroutine that writes and reads, and more lanes
// than CPUs mean more switches and shallower pipelines.
func DefaultMultiplexConns(maxConns int) int {
	n := max(2, runtime.GOMAXPROCS(0)*3/2)
	return max(1, min(n, maxConns-1))
}

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

	// maps decode rows in callers' goroutines. A channel rather than a
	// sync.Pool: a Map's worth is its memoized scan plans, which a
	// sync.Pool would drop at every garbage collection. A connection's
	// own map is not safe for concurrent use, so these learn the types
	// registered on the connections (Config.AfterConnect) from the
	// results: see stmt.types and decodeMap.
	maps chan *decodeMap
	// builtin is a map nothing is registered on, never written after
	// newMux: what pgx knows by itself, to tell the types a connection has
	// registered apart.
	builtin *pgtype.Map
	// scanWraps are a lane connection's TryWrapScanPlanFuncs, which
	// AfterConnect may have extended (as extensions such as
	// pgx-shopspring-decimal do); new decode maps start with them. Set by
	// the first lane, then read-only (clipped: an append copies).
	scanWraps atomic.Pointer[[]pgtype.TryWrapScanPlanFunc]
	reqs      sync.Pool // *request
	sqls      sync.Map  // sql → *sqlInfo
	sqlsN     atomic.Int64
	pipelined atomic.Int64
	writes    atomic.Int64

	mu       sync.Mutex
	queue    []*request // accepted, not yet taken by a lane
	pending  int        // accepted, not yet answered: at most maxLanes × depth
	lanes    []*lane
	idle     []*lane // lanes waiting for work
	starting int
	waitq    []*waiter // callers waiting for room, oldest first
	closed   bool
	conns    map[*pgconn.PgConn]*connStmts // prepared statements, per connection
	types    map[uint32]*pgtype.Type       // by OID: one connection's registered type, for all (see resultTypes)
	stats    MultiplexStats
}

// MultiplexStats counts what the multiplexer did, for metrics and tests.
type MultiplexStats struct {
	Lanes      int   // connections in pipeline mode right now
	Statements int64 // statements multiplexed so far
	Pipelined  int64 // statements written while earlier ones on the same connection awaited results
	Writes     int64 // writes to the connections (system calls): Statements/Writes is statements per round trip
	Prepares   int64 // statements prepared on a connection
	Waited     int64 // statements that waited for room (every lane at its depth)
	Exhausted  int64 // of them, those that failed with ErrPoolExhausted
	Resent     int64 // statements sent again (hit by a cancel meant for another, stale prepared statement)
	Cancels    int64 // cancel requests sent for abandoned statements
	LanesLost  int64 // lanes whose connection broke
}

func newMux(pool *pgxpool.Pool, cfg Config, acquireTimeout time.Duration, tracer pgx.QueryTracer) *mux {
	depth := cfg.MultiplexDepth
	if depth <= 0 {
		depth = DefaultMultiplexDepth
	}
	maxConns := int(pool.Config().MaxConns)
	lanes := int(cfg.MultiplexConns)
	if lanes <= 0 {
		lanes = DefaultMultiplexConns(maxConns)
	}
	lanes = min(lanes, maxConns)
	cacheCap := pool.Config().ConnConfig.StatementCacheCapacity
	if cacheCap <= 0 {
		cacheCap = 512
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &mux{
		pool: pool, acquireTimeout: acquireTimeout, depth: depth, maxLanes: lanes, cacheCap: cacheCap, tracer: tracer,
		ctx: ctx, cancel: cancel,
		conns: map[*pgconn.PgConn]*connStmts{}, types: map[uint32]*pgtype.Type{},
	}
	m.maps = make(chan *decodeMap, max(16, 4*runtime.GOMAXPROCS(0)))
	m.builtin = pgtype.NewMap()
	return m
}

// typeMap lends a Map for decoding a result whose statement needs types
// (stmt.types, nil for built-in types only); giveMap takes it back.
func (m *mux) typeMap(types []*pgtype.Type) *decodeMap {
	var dm *decodeMap
	select {
	case dm = <-m.maps:
	default:
		dm = &decodeMap{tm: pgtype.NewMap()}
		if wraps := m.scanWraps.Load(); wraps != nil {
			dm.tm.TryWrapScanPlanFuncs = *wraps
		}
	}
	dm.use(types)
	return dm
}

// decodeMap is a pgtype.Map lent to one caller at a time, with copies of
// its own of the types the connections registered: a codec need not be
// safe for concurrent use (pgx's EnumCodec remembers the labels it has
// seen), so a type a connection decodes with is never shared.
type decodeMap struct {
	tm     *pgtype.Map
	copies map[*pgtype.Type]*pgtype.Type // a type of stmt.types → its copy, registered in tm
}

// use registers in dm the copies of types it does not have registered.
// Once it has, it costs a map lookup per type and allocates nothing.
func (dm *decodeMap) use(types []*pgtype.Type) {
	for _, t := range types {
		c, ok := dm.copies[t]
		if !ok {
			if dm.copies == nil {
				dm.copies = map[*pgtype.Type]*pgtype.Type{}
			}
			c = copyType(t, dm.copies)
		}
		if have, _ := dm.tm.TypeForOID(t.OID); have != c {
			dm.tm.RegisterType(c)
		}
	}
}

// copyType returns t with codecs of its own where pgx's keep state or hold
// other types (enum, array, composite, range, multirange: the types they
// hold copied too), recording every copy in copies. Other codecs are
// pgx's stateless ones, or the caller's, which the Config.AfterConnect
// documentation asks to be safe for concurrent use: they are shared.
func copyType(t *pgtype.Type, copies map[*pgtype.Type]*pgtype.Type) *pgtype.Type {
	if t == nil {
		return nil
	}
	if c, ok := copies[t]; ok {
		return c
	}
	var codec pgtype.Codec
	switch c := t.Codec.(type) {
	case *pgtype.EnumCodec:
		codec = &pgtype.EnumCodec{}
	case *pgtype.ArrayCodec:
		codec = &pgtype.ArrayCodec{ElementType: copyType(c.ElementType, copies), Delimiter: c.Delimiter}
	case *pgtype.CompositeCodec:
		fields := make([]pgtype.CompositeCodecField, len(c.Fields))
		for i, f := range c.Fields {
			fields[i] = pgtype.CompositeCodecField{Name: f.Name, Type: copyType(f.Type, copies)}
		}
		codec = &pgtype.CompositeCodec{Fields: fields}
	case *pgtype.RangeCodec:
		codec = &pgtype.RangeCodec{ElementType: copyType(c.ElementType, copies)}
	case *pgtype.MultirangeCodec:
		codec = &pgtype.MultirangeCodec{ElementType: copyType(c.ElementType, copies)}
	default:
		copies[t] = t
		return t
	}
	c := &pgtype.Type{Name: t.Name, OID: t.OID, Codec: codec}
	copies[t] = c
	return c
}

// resultTypes lists the types that decoding fields needs from tm, a lane
// connection's map, beyond pgx's built-in ones: a type the connection
// registered (an enum, a composite, an array of them), or a codec it
// registered in place of a built-in one, together with the element and
// field types such a type's codec looks up by OID while decoding. nil when
// every type is built in, the usual case. Run on the lane's goroutine,
// which owns tm.
//
// Every connection loaded its own *Type for the same type: the first
// connection's stands for all the connections that have the same (see
// sameType), so that a decode map makes its copies once, not once per
// lane; a connection that loaded another (the type was altered since)
// replaces it.
func (m *mux) resultTypes(tm *pgtype.Map, fields []pgconn.FieldDescription) []*pgtype.Type {
	var types []*pgtype.Type
	var add func(t *pgtype.Type)
	add = func(t *pgtype.Type) {
		if t == nil || slices.Contains(types, t) {
			return
		}
		if b, ok := m.builtin.TypeForOID(t.OID); ok && b == t {
			return
		}
		types = append(types, t)
		switch c := t.Codec.(type) {
		case *pgtype.ArrayCodec:
			add(c.ElementType)
		case *pgtype.CompositeCodec:
			for _, f := range c.Fields {
				add(f.Type)
			}
		case *pgtype.RangeCodec:
			add(c.ElementType)
		case *pgtype.MultirangeCodec:
			add(c.ElementType)
		}
	}
	for _, f := range fields {
		if t, ok := tm.TypeForOID(f.DataTypeOID); ok {
			add(t)
		}
	}
	if types == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, t := range types {
		if have, ok := m.types[t.OID]; ok && sameType(have, t) {
			types[i] = have
			continue
		}
		m.types[t.OID] = t
	}
	return types
}

// sameType reports whether a and b, types of two connections' maps,
// decode alike: the same type, with the same kind of codec, holding the
// same types (a composite's attributes, an array's element).
func sameType(a, b *pgtype.Type) bool {
	if a == b {
		return true
	}
	if a == nil || b == nil || a.OID != b.OID {
		return false
	}
	switch ca := a.Codec.(type) {
	case *pgtype.ArrayCodec:
		cb, ok := b.Codec.(*pgtype.ArrayCodec)
		return ok && ca.Delimiter == cb.Delimiter && sameType(ca.ElementType, cb.ElementType)
	case *pgtype.CompositeCodec:
		cb, ok := b.Codec.(*pgtype.CompositeCodec)
		return ok && slices.EqualFunc(ca.Fields, cb.Fields, func(x, y pgtype.CompositeCodecField) bool {
			return x.Name == y.Name && sameType(x.Type, y.Type)
		})
	case *pgtype.RangeCodec:
		cb, ok := b.Codec.(*pgtype.RangeCodec)
		return ok && sameType(ca.ElementType, cb.ElementType)
	case *pgtype.MultirangeCodec:
		cb, ok := b.Codec.(*pgtype.MultirangeCodec)
		return ok && sameType(ca.ElementType, cb.ElementType)
	}
	// An enum, or a codec pgkit cannot look into: registered by the same
	// AfterConnect on every connection.
	return reflect.TypeOf(a.Codec) == reflect.TypeOf(b.Codec)
}

func (m *mux) giveMap(dm *decodeMap) {
	select {
	case m.maps <- dm:
	default:
	}
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
	for _, w := range m.waitq {
		close(w.ch) // not granted: the waiter returns errClosed
	}
	m.waitq = nil
	m.mu.Unlock()
}

// Stats reports the multiplexer's lanes and counters.
func (m *mux) Stats() MultiplexStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.stats
	s.Lanes = len(m.lanes)
	s.Pipelined = m.pipelined.Load()
	s.Writes = m.writes.Load()
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

// sqlInfo is what the multiplexer knows of one SQL text, shared by every
// connection.
type sqlInfo struct {
	refused error        // not nil for a statement that would change the session
	took    atomic.Int64 // nanoseconds: moving average of its time on the server, see stmt.slow
}

// info returns what is known of sql, looking at its text the first time.
// Entries are bounded, as pgx's statement caches are: SQL built with
// literals must not grow them without end; past the bound a text is looked
// at each time and its timing is learned per connection.
func (m *mux) info(sql string) *sqlInfo {
	if v, ok := m.sqls.Load(sql); ok {
		return v.(*sqlInfo)
	}
	in := &sqlInfo{}
	if what := sessionStatement(sql); what != "" {
		in.refused = fmt.Errorf("pgkit: multiplexed %s: %w; run it in a transaction (WithTx) or on DB.Pool()", what, ErrSessionState)
	}
	if m.sqlsN.Add(1) > maxSQLInfo {
		return in
	}
	v, _ := m.sqls.LoadOrStore(sql, in)
	return v.(*sqlInfo)
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

	done chan struct{} // receives once res is set; capacity 1, so a request can be reused
	res  result
}

// getRequest takes a request from the multiplexer's pool: answered
// requests are reused (their channel too), two allocations fewer per
// statement. Abandoned ones are not, as a lane may still hold them.
func (m *mux) getRequest() *request {
	if req, ok := m.reqs.Get().(*request); ok {
		return req
	}
	return &request{done: make(chan struct{}, 1)}
}

func (m *mux) putRequest(req *request) {
	done := req.done
	req.lane.Store(nil)
	req.watched.Store(false)
	*req = request{done: done}
	m.reqs.Put(req)
}

// result is what a statement produced: rows copied out of the connection's
// buffer, or its command tag, or its error.
type result struct {
	fields []pgconn.FieldDescription // shared, read-only
	types  []*pgtype.Type            // stmt.types: shared, read-only
	values [][]byte                  // rows × len(fields)
	rows   int                       // counted apart: a row may have no columns
	tag    pgconn.CommandTag
	err    error
}

// do runs one statement on a lane and waits for its result or for ctx.
func (m *mux) do(ctx context.Context, sql string, args []any) (result, error) {
	if err := m.info(sql).refused; err != nil {
		return result{}, err
	}
	if err := ctx.Err(); err != nil {
		return result{}, err
	}
	req := m.getRequest()
	req.ctx, req.sql, req.args = ctx, sql, args
	if err := m.enqueue(ctx, req); err != nil {
		m.putRequest(req)
		return result{}, err
	}
	select {
	case <-req.done:
		res := req.res
		m.putRequest(req)
		return res, res.err
	case <-ctx.Done():
	}
	// The caller leaves at once. The lane reads the result and drops it;
	// if the statement is the one running, it is cancelled on the server
	// unless it ends by itself first.
	req.abandoned.Store(true)
	if l := req.lane.Load(); l != nil && l.head.Load() == req {
		l.watch(req)
	}
	return result{}, ctx.Err()
}

// enqueue accepts req when fewer than maxLanes × depth statements are
// unanswered, waiting for room at most the acquire timeout, and makes sure
// a lane will take it.
func (m *mux) enqueue(ctx context.Context, req *request) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return errClosed
	}
	if m.pending < m.maxLanes*m.depth && len(m.waitq) == 0 {
		m.pending++
	} else if err := m.waitForRoom(ctx); err != nil { // returns with m.mu held and a slot, or unlocked
		return err
	}
	m.stats.Statements++
	m.queue = append(m.queue, req)
	m.kick()
	m.mu.Unlock()
	return nil
}

// errClosed is a statement sent on a closed DB.
var errClosed = errors.New("pgkit: the DB is closed")

// waiter is a caller waiting for room, first come first served: a slot
// freed goes to the longest waiter directly (no herd of waiters woken to
// race for it, and no caller overtaken for ever).
type waiter struct {
	ch      chan struct{} // closed when granted a slot, or when the DB closes
	granted bool          // under m.mu
}

// waitForRoom queues the caller for a slot, m.mu held; it returns nil with
// m.mu held and the slot counted in pending, or an error with m.mu
// released: the context's, *PoolExhaustedError after the acquire timeout,
// or errClosed.
func (m *mux) waitForRoom(ctx context.Context) error {
	w := &waiter{ch: make(chan struct{})}
	m.waitq = append(m.waitq, w)
	m.stats.Waited++
	m.mu.Unlock()
	var timeout <-chan time.Time
	if m.acquireTimeout >= 0 {
		t := time.NewTimer(m.acquireTimeout)
		defer t.Stop()
		timeout = t.C
	}
	var err error
	select {
	case <-w.ch:
	case <-ctx.Done():
		err = ctx.Err()
	case <-timeout:
		st := m.pool.Stat()
		err = &PoolExhaustedError{Waited: m.acquireTimeout, InUse: st.AcquiredConns(), MaxConns: st.MaxConns()}
	}
	m.mu.Lock()
	if _, ok := err.(*PoolExhaustedError); ok && !w.granted {
		m.stats.Exhausted++
	}
	switch {
	case w.granted && err == nil && !m.closed:
		return nil
	case w.granted:
		m.release() // granted as the caller gave up: pass the slot on
	default:
		if i := slices.Index(m.waitq, w); i >= 0 {
			m.waitq = slices.Delete(m.waitq, i, i+1)
		}
	}
	m.mu.Unlock()
	if err == nil {
		err = errClosed
	}
	return err
}

// release frees the slot of an answered statement: it goes to the first
// waiter, if any; m.mu is held.
func (m *mux) release() {
	if len(m.waitq) > 0 && !m.closed {
		w := m.waitq[0]
		m.waitq[0] = nil
		m.waitq = m.waitq[1:]
		w.granted = true
		close(w.ch)
		return
	}
	m.pending--
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
		err = errClosed
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
	if m.scanWraps.Load() == nil {
		wraps := slices.Clip(conn.TypeMap().TryWrapScanPlanFuncs)
		m.scanWraps.Store(&wraps)
	}
	stmts := m.conns[conn.PgConn()]
	if stmts == nil {
		stmts = &connStmts{byName: map[string]*stmt{}}
		m.conns[conn.PgConn()] = stmts
	}
	l := &lane{
		m: m, pc: pc, conn: conn, pg: conn.PgConn(), fe: conn.PgConn().Frontend(), stmts: stmts,
		wake:      make(chan struct{}, 1),
		preparing: map[string][]*request{},
	}
	m.lanes = append(m.lanes, l)
	go l.run()
}

// answer hands req its result; m.mu is held.
func (m *mux) answer(req *request, res result) {
	req.res = res
	req.done <- struct{}{}
	m.release()
}

// connStmts is what a connection has prepared, oldest first.
type connStmts struct {
	byName map[string]*stmt // by SQL text
	order  []string
}

// stmt is a statement prepared on a connection, with the result formats,
// field descriptions and types its results are decoded with.
type stmt struct {
	sd            *pgconn.StatementDescription
	resultFormats []int16
	fields        []pgconn.FieldDescription
	types         []*pgtype.Type // mux.resultTypes: nil for built-in types only
	took          *atomic.Int64  // its sqlInfo.took
}

// slow reports a statement that usually runs longer than slowStatement:
// a lane sends nothing behind it (see lane.sendBatch).
func (st *stmt) slow() bool { return st != nil && time.Duration(st.took.Load()) > slowStatement }

// slowStatement is where a statement starts to count as slow: behind one,
// a pipelined statement would wait that long for nothing.
const slowStatement = time.Millisecond

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

// lane is one connection in pipeline mode and the goroutine that drives it.
type lane struct {
	m    *mux
	pc   *pgxpool.Conn
	conn *pgx.Conn
	pg   *pgconn.PgConn
	fe   *pgproto3.Frontend
	wake chan struct{}
	head atomic.Pointer[request] // the statement whose result is being read

	cancelling     atomic.Int32 // cancel requests under way
	lastCancelDone atomic.Int64 // unix nanoseconds

	idle bool // in m.idle; under m.mu

	// lane goroutine only
	stmts        *connStmts
	inflight     int        // taken and not yet answered
	wire         []wireItem // written (the first flushed of them sent), results awaited in order
	flushed      int
	unsent       int                   // bytes written to the buffer and not flushed, roughly
	lastRead     time.Time             // when the last result ended, or the idle server was sent work
	slowInFlight int                   // statements known to be slow, written and not answered
	preparing    map[string][]*request // statements awaiting their Prepare
	eqb          pgx.ExtendedQueryBuilder
	bind         pgproto3.Bind
	batch        []*request
	arena        []byte // readItem's scratch for row values
	ends         []int
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
		l.sendBatch(batch)
		if err := l.flush(); err != nil {
			l.die(err)
			return
		}
		if len(l.wire) > 0 {
			// Read half of what is in flight before writing again: new
			// statements then go out several to a write (one syscall),
			// while the other half keeps the server busy.
			for n := max(1, len(l.wire)/2); n > 0 && len(l.wire) > 0; n-- {
				if l.flushed == 0 { // a Prepare's waiting statements, or a resend
					if err := l.flush(); err != nil {
						l.die(err)
						return
					}
				}
				if err := l.readOne(); err != nil {
					l.die(err)
					return
				}
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
	//
	// A lane still waiting for results pipelines more only when every lane
	// is open and none is idle or starting: until then new statements go
	// to a free connection, never behind one that may be slow.
	lanes := len(m.lanes) + m.starting
	share := (len(m.queue) + lanes - 1) / lanes
	if l.inflight > 0 && (len(m.idle) > 0 || m.starting > 0 || len(m.lanes) < m.maxLanes) || l.slowInFlight > 0 {
		share = 0
	}
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

// retire gives the connection back to the pool; every result has been
// read, so it is idle.
func (l *lane) retire() {
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

// sendBatch writes what take returned (or statements whose Prepare just
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
		st := l.stmts.byName[req.sql]
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
		l.send(req, l.stmts.byName[req.sql])
	}
}

// giveBack returns statements the lane took but will not send to the
// front of the queue.
func (l *lane) giveBack(reqs []*request) {
	m := l.m
	m.mu.Lock()
	m.queue = append(slices.Clone(reqs), m.queue...)
	l.inflight -= len(reqs)
	m.kick()
	m.mu.Unlock()
}

// send writes req, or its statement's Prepare when this connection has not
// prepared it yet (st, its entry in l.stmts, is nil).
func (l *lane) send(req *request, st *stmt) {
	if req.abandoned.Load() {
		l.deliver(req, result{err: req.ctx.Err()})
		return
	}
	if t := l.m.tracer; t != nil && req.tctx == nil {
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
		oldest := l.stmts.order[0]
		l.stmts.order = l.stmts.order[1:]
		delete(l.stmts.byName, oldest)
		l.sendDeallocate(oldest)
	}
	l.preparing[req.sql] = []*request{req}
	name := stmtName(req.sql)
	l.fe.SendParse(&pgproto3.Parse{Name: name, Query: req.sql})
	l.fe.SendDescribe(&pgproto3.Describe{ObjectType: 'S', Name: name})
	l.fe.SendSync(&pgproto3.Sync{})
	l.wire = append(l.wire, wireItem{kind: itemPrepare, sql: req.sql})
	l.unsent += len(req.sql)
}

// sendDeallocate writes the closing of sql's prepared statement.
func (l *lane) sendDeallocate(sql string) {
	l.fe.SendClose(&pgproto3.Close{ObjectType: 'S', Name: stmtName(sql)})
	l.fe.SendSync(&pgproto3.Sync{})
	l.wire = append(l.wire, wireItem{kind: itemDeallocate})
}

// sendQuery writes req's Bind, Execute and Sync.
func (l *lane) sendQuery(req *request, st *stmt) {
	if err := l.eqb.Build(l.conn.TypeMap(), st.sd, req.args); err != nil {
		l.deliver(req, result{err: err})
		return
	}
	if len(l.wire) > 0 {
		l.m.pipelined.Add(1)
	}
	l.bind = pgproto3.Bind{PreparedStatement: st.sd.Name, ParameterFormatCodes: l.eqb.ParamFormats,
		Parameters: l.eqb.ParamValues, ResultFormatCodes: st.resultFormats}
	l.fe.SendBind(&l.bind)
	l.fe.SendExecute(&pgproto3.Execute{})
	l.fe.SendSync(&pgproto3.Sync{})
	slow := st.slow()
	l.wire = append(l.wire, wireItem{kind: itemQuery, req: req, st: st, slow: slow})
	if slow {
		l.slowInFlight++
	}
	for _, v := range l.eqb.ParamValues {
		l.unsent += len(v)
	}
}

// maxUnreadWrite bounds what a lane writes while results are still
// unread. Past it, the lane first reads every result in flight: a server
// blocked sending results the lane does not read would not read what the
// lane sends, and both would wait forever. (pgconn guards its own writes
// the same way, in a background reader.)
const maxUnreadWrite = 64 << 10

// flush sends what was written since the last flush.
func (l *lane) flush() error {
	if l.flushed == len(l.wire) {
		return nil
	}
	if l.unsent > maxUnreadWrite {
		for l.flushed > 0 {
			if err := l.readOne(); err != nil {
				return err
			}
		}
	}
	l.m.writes.Add(1)
	if l.flushed == 0 {
		l.lastRead = time.Now() // the server was idle: the clock of the next result starts now
	}
	if err := l.fe.Flush(); err != nil {
		return fmt.Errorf("write to the server: %w", err)
	}
	l.flushed, l.unsent = len(l.wire), 0
	return nil
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
// including its ReadyForQuery. An error returned means the connection is
// broken.
func (l *lane) readOne() error {
	it := l.wire[0]
	copy(l.wire, l.wire[1:])
	l.wire = l.wire[:len(l.wire)-1]
	l.flushed--
	switch it.kind {
	case itemDeallocate:
		_, _, err := l.readItem(false)
		return err
	case itemPrepare:
		// The Prepare answers for its first waiting statement: if that
		// caller leaves, the cancel and the grace apply as to a query.
		if waiting := l.preparing[it.sql]; len(waiting) > 0 {
			l.head.Store(waiting[0])
			if waiting[0].abandoned.Load() {
				l.watch(waiting[0])
			}
			defer l.head.Store(nil)
		}
		return l.readPrepare(it.sql)
	}
	req := it.req
	l.head.Store(req)
	if req.abandoned.Load() {
		l.watch(req)
	}
	res, _, err := l.readItem(true)
	l.head.Store(nil)
	now := time.Now()
	if it.slow {
		l.slowInFlight--
	}
	// Its time on the server, roughly: since the result before it ended
	// (or since it was sent, if the server was idle). A moving average, so
	// that one slow run does not mark a statement for good.
	took, avg := int64(now.Sub(l.lastRead)), it.st.took.Load()
	it.st.took.Store(avg + (took-avg)/4) // lanes racing here lose an update: it is a hint
	l.lastRead = now
	if err == nil && res.err == nil && !req.abandoned.Load() {
		res.fields, res.types, res.values = it.st.fields, it.st.types, l.rowsOf()
	}
	if err != nil {
		l.deliver(req, result{err: err})
		return err
	}
	if l.resend(req, it.st, res.err) {
		return nil
	}
	l.deliver(req, res)
	return nil
}

// description is what a Prepare's answer says of its statement.
type description struct {
	params []uint32                  // ParameterDescription
	fields []pgconn.FieldDescription // RowDescription
}

// readItem reads one item's messages up to its ReadyForQuery: the
// statement's error, if any, in res.err; with rows, the row values into
// the lane's scratch (see rowsOf); a Prepare's description in desc. The
// error returned means the connection broke, or the session is unusable
// for others (a transaction left open).
func (l *lane) readItem(rows bool) (res result, desc description, err error) {
	arena, ends := l.arena[:0], l.ends[:0] // ends: end of each value in arena; -1 for NULL
	defer func() { l.arena, l.ends = arena, ends }()
	for {
		msg, err := l.pg.ReceiveMessage(context.Background())
		if err != nil {
			return res, desc, err
		}
		switch m := msg.(type) {
		case *pgproto3.DataRow:
			if !rows {
				continue
			}
			res.rows++
			for _, v := range m.Values {
				if v == nil {
					ends = append(ends, -1)
					continue
				}
				arena = append(arena, v...)
				ends = append(ends, len(arena))
			}
		case *pgproto3.CommandComplete:
			res.tag = pgconn.NewCommandTag(string(m.CommandTag))
		case *pgproto3.ErrorResponse:
			pgErr := pgconn.ErrorResponseToPgError(m)
			if pgErr.Severity == "FATAL" || pgErr.Severity == "PANIC" {
				return res, desc, pgErr
			}
			res.err = pgErr
		case *pgproto3.ParameterDescription:
			desc.params = slices.Clone(m.ParameterOIDs)
		case *pgproto3.RowDescription:
			desc.fields = make([]pgconn.FieldDescription, len(m.Fields))
			for i, f := range m.Fields {
				desc.fields[i] = pgconn.FieldDescription{Name: string(f.Name), TableOID: f.TableOID,
					TableAttributeNumber: f.TableAttributeNumber, DataTypeOID: f.DataTypeOID,
					DataTypeSize: f.DataTypeSize, TypeModifier: f.TypeModifier, Format: f.Format}
			}
		case *pgproto3.ReadyForQuery:
			if m.TxStatus != 'I' {
				return res, desc, fmt.Errorf("pgkit: a multiplexed statement left a transaction open: %w", ErrSessionState)
			}
			return res, desc, nil
		case *pgproto3.ParseComplete, *pgproto3.BindComplete, *pgproto3.CloseComplete, *pgproto3.NoData,
			*pgproto3.EmptyQueryResponse, *pgproto3.NoticeResponse, *pgproto3.ParameterStatus, *pgproto3.NotificationResponse:
		default:
			return res, desc, fmt.Errorf("pgkit: multiplexed connection out of step: unexpected %T", msg)
		}
	}
}

// rowsOf copies the rows readItem left in the lane's scratch out at their
// final size: two allocations per result, however many rows.
func (l *lane) rowsOf() [][]byte {
	if len(l.ends) == 0 {
		return nil
	}
	owned := make([]byte, len(l.arena))
	copy(owned, l.arena)
	values := make([][]byte, len(l.ends))
	start := 0
	for i, end := range l.ends {
		if end < 0 {
			continue
		}
		values[i] = owned[start:end:end]
		start = end
	}
	return values
}

// readPrepare reads a Prepare's description, then writes the statements
// that waited for it.
func (l *lane) readPrepare(sql string) error {
	res, desc, err := l.readItem(false)
	waiting := l.preparing[sql]
	delete(l.preparing, sql)
	if err != nil || res.err != nil {
		for _, req := range waiting {
			l.deliver(req, result{err: cmp.Or(err, res.err)})
		}
		return err
	}
	sd := &pgconn.StatementDescription{Name: stmtName(sql), SQL: sql, ParamOIDs: desc.params, Fields: desc.fields}
	st := &stmt{sd: sd, resultFormats: make([]int16, len(sd.Fields)), fields: make([]pgconn.FieldDescription, len(sd.Fields)), took: &l.m.info(sql).took}
	tm := l.conn.TypeMap()
	for i, f := range sd.Fields {
		st.resultFormats[i] = tm.FormatCodeForOID(f.DataTypeOID)
		st.fields[i] = f
		st.fields[i].Format = st.resultFormats[i]
	}
	st.types = l.m.resultTypes(tm, sd.Fields)
	l.stmts.byName[sql] = st
	l.stmts.order = append(l.stmts.order, sql)
	l.m.mu.Lock()
	l.m.stats.Prepares++
	l.m.mu.Unlock()
	l.sendBatch(waiting)
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
			l.sendDeallocate(req.sql)
		}
	default:
		return false
	}
	req.resent++
	l.m.mu.Lock()
	l.m.stats.Resent++
	l.m.mu.Unlock()
	l.sendBatch([]*request{req})
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
				// Unblocks the lane's read with an error: the lane closes
				// the connection.
				_ = l.pg.Conn().SetDeadline(time.Unix(1, 0))
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
