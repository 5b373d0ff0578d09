package mux

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Defaults and timings.
const (
	// DefaultDepth is how many statements one connection carries at once,
	// written or waiting to be, before new ones go elsewhere or wait
	// (postgres.js's max_pipeline is 100 too).
	DefaultDepth = 100
	// linger is how long an idle lane keeps its connection before giving
	// it back to the pool for transactions and streams.
	linger = 20 * time.Millisecond
	// cancelDelay is how long a statement whose caller left may go on
	// running before the server is asked to cancel it: most end sooner,
	// and reading and dropping their result costs less than a cancel
	// request (a new connection to the server).
	cancelDelay = 50 * time.Millisecond
	// abandonGrace is how long a lane holding a statement whose caller
	// left may make no progress at all (no message read, nothing written)
	// after the cancel was asked for. A server that answers neither the
	// query nor the cancel in that time cannot be waited for: the
	// connection is closed, and the statements in flight on it fail with
	// a connection-lost error.
	abandonGrace = 2 * time.Second
	// collateralWindow: a statement that fails with query_canceled (57014)
	// this soon after a cancel of an abandoned one on the same connection
	// may have been hit by that cancel instead (the server had moved on),
	// and is sent again. It ran in its own implicit transaction, which
	// the cancel rolled back, so resending is safe; but for a CALL, whose
	// procedure may have committed part of its work before the cancel
	// came: its caller gets the cancellation.
	collateralWindow = time.Second
	// maxResends caps how often one statement is sent again (collateral
	// cancels, stale plans): each resend found a reason of its own, but a
	// schema changed in a loop must not keep a statement forever.
	maxResends = 8
	// maxSQLInfo caps the SQL texts the multiplexer remembers (sqlInfo).
	maxSQLInfo = 10_000
)

// DefaultConns is the default number of lanes for a pool of maxConns:
// one and a half per CPU the Go runtime uses, at least 1, and at most
// maxConns−1, so that a transaction, a stream or a COPY always finds a
// connection the multiplexer does not hold; 0 when maxConns is 1. Measured
// on the bench machine (2 CPUs, server on the same host), 3 lanes beat 2,
// 4, 8 and 16 on both the point and the page workload: each lane is a
// goroutine that reads and one that writes, and more lanes than CPUs mean
// more switches and shallower pipelines.
func DefaultConns(maxConns int) int {
	n := max(2, runtime.GOMAXPROCS(0)*3/2)
	return max(0, min(n, maxConns-1))
}

// ErrSessionState is matched by the error of a statement the multiplexer
// refuses because it would change the state of a connection other callers
// share.
var ErrSessionState = errors.New("statement would change the state of a shared connection")

// errClosed is a statement sent on a closed Mux.
var errClosed = errors.New("pgkit: the DB is closed")

// Config is what New needs. Pool, Acquire and Exhausted are required.
type Config struct {
	// Pool is where lanes take their connections.
	Pool *pgxpool.Pool
	// Acquire takes a connection for a new lane, bounded as every other
	// acquire of the caller's (and counted with them).
	Acquire func(ctx context.Context) (*pgxpool.Conn, error)
	// Exhausted returns, and counts, the error of a statement that found
	// no room and no lane for AcquireTimeout.
	Exhausted func() error
	// AcquireTimeout bounds how long a statement waits to be admitted and
	// taken by a lane, but for one a lane has room for, which waits for
	// the result that lane is reading (sweep.go); negative: as long as
	// its context allows.
	AcquireTimeout time.Duration
	// Lanes caps the connections used at once. Default: DefaultConns of
	// the pool's MaxConns; never more than MaxConns−1.
	Lanes int
	// Depth caps the statements one lane carries at once. Default:
	// DefaultDepth.
	Depth int
	// Tracer, when set, sees every statement start and end.
	Tracer pgx.QueryTracer
	// Unfit, when set, is asked after each result whether the server of
	// a lane's connection, as it last reported itself, is no longer what
	// the pool wants (a standby, a read-only server); such a lane takes
	// no more statements, answers those it has, and closes its
	// connection.
	Unfit func(*pgconn.PgConn) bool
	// StalePlan, when set, is called when a statement's prepared form
	// was found stale (a schema change altered its result; DISCARD), so
	// that what else prepared it on other connections can forget it.
	StalePlan func()
}

// Mux spreads autocommit statements over lanes. Callers append to one
// queue; each lane takes from it as much as its depth allows whenever it is
// ready to write, so work goes to the connections that are free, and a
// connection stuck behind a slow statement takes no more.
type Mux struct {
	cfg      Config
	depth    int
	maxLanes int
	cacheCap int // prepared statements per connection

	ctx    context.Context // ends at Stop; lanes start under it
	cancel context.CancelFunc

	// maps decode rows in callers' goroutines. A channel rather than a
	// sync.Pool: a Map's worth is its memoized scan plans, which a
	// sync.Pool would drop at every garbage collection. A connection's
	// own map is not safe for concurrent use, so these learn the types
	// registered on the connections from the results: see stmt.types and
	// decodeMap.
	maps chan *decodeMap
	// builtin is a map nothing is registered on, never written after New:
	// what pgx knows by itself, to tell the types a connection has
	// registered apart.
	builtin *pgtype.Map
	// scanWraps are a lane connection's TryWrapScanPlanFuncs, which an
	// AfterConnect may have extended; new decode maps start with them.
	// Set by the first lane, then read-only (clipped: an append copies).
	scanWraps atomic.Pointer[[]pgtype.TryWrapScanPlanFunc]
	reqs      sync.Pool // *request
	slabs     sync.Pool // *slab, free (slab.go)
	sqls      sync.Map  // sql → *sqlInfo
	sqlsN     atomic.Int64
	pipelined atomic.Int64
	writes    atomic.Int64

	mu    sync.Mutex
	queue []*request // admitted, not yet taken by a lane
	// pending: admitted, not yet answered, at most maxLanes × depth;
	// raised under mu only, lowered anywhere (a lane answers without mu
	// unless callers wait for room: see answerDirect).
	pending  atomic.Int64
	waiting  atomic.Int32 // len(waitq), for answerDirect
	lanes    []*lane
	idle     []*lane // lanes waiting for work
	starting int
	waitq    []*waiter // callers waiting for room, oldest first
	sweeping bool      // an expiry of the queue is planned (admit.go)
	closed   bool
	conns    map[*pgconn.PgConn]*connStmts // prepared statements, per connection
	types    map[uint32]*pgtype.Type       // by OID: one connection's registered type, for all (see resultTypes)
	stats    Stats
}

// Stats counts what the multiplexer did.
type Stats struct {
	Lanes      int   // connections in pipeline mode right now
	Statements int64 // statements multiplexed so far
	Pipelined  int64 // statements written while earlier ones on the same connection awaited results
	Writes     int64 // writes to the connections (system calls)
	Prepares   int64 // statements prepared on a connection
	Waited     int64 // statements that waited for room (every lane at its depth)
	Exhausted  int64 // statements that failed with ErrPoolExhausted, not admitted or not taken in time
	Resent     int64 // statements sent again (hit by a cancel meant for another, stale prepared statement)
	Cancels    int64 // cancel requests sent for abandoned statements
	LanesLost  int64 // lanes whose connection broke
}

// New returns a multiplexer over cfg.Pool; it opens lanes as statements
// come.
func New(cfg Config) *Mux {
	maxConns := int(cfg.Pool.Config().MaxConns)
	if cfg.Depth <= 0 {
		cfg.Depth = DefaultDepth
	}
	if cfg.Lanes <= 0 {
		cfg.Lanes = DefaultConns(maxConns)
	}
	cfg.Lanes = max(1, min(cfg.Lanes, maxConns-1))
	cacheCap := cfg.Pool.Config().ConnConfig.StatementCacheCapacity
	if cacheCap <= 0 {
		cacheCap = 512
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Mux{
		cfg: cfg, depth: cfg.Depth, maxLanes: cfg.Lanes, cacheCap: cacheCap,
		ctx: ctx, cancel: cancel,
		maps:    make(chan *decodeMap, max(16, 4*runtime.GOMAXPROCS(0))),
		builtin: pgtype.NewMap(),
		conns:   map[*pgconn.PgConn]*connStmts{}, types: map[uint32]*pgtype.Type{},
	}
}

// Forget drops what is cached for a connection the pool closes.
func (m *Mux) Forget(c *pgconn.PgConn) {
	m.mu.Lock()
	delete(m.conns, c)
	m.mu.Unlock()
}

// Close stops new statements; lanes answer what they admitted and give
// their connections back, which the pool's Close waits for.
func (m *Mux) Close() {
	m.mu.Lock()
	m.closed = true
	for _, l := range m.lanes {
		l.poke()
	}
	for _, w := range m.waitq {
		close(w.ch) // not granted: the waiter returns errClosed
	}
	m.waitq = nil
	m.waiting.Store(0)
	m.mu.Unlock()
}

// Stop ends the lanes' start-up context: call it after the pool is
// closed.
func (m *Mux) Stop() { m.cancel() }

// Stats reports the lanes and counters.
func (m *Mux) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.stats
	s.Lanes = len(m.lanes)
	s.Pipelined = m.pipelined.Load()
	s.Writes = m.writes.Load()
	return s
}

// Multiplexable reports whether args leave the statement to the
// multiplexer's encoding: pgx's per-query options (exec mode, result
// formats, named arguments and other rewriters) need pgx's own Query path.
func Multiplexable(args []any) bool {
	if len(args) == 0 {
		return true
	}
	switch args[0].(type) {
	case pgx.QueryExecMode, pgx.QueryResultFormats, pgx.QueryResultFormatsByOID, pgx.QueryRewriter:
		return false
	}
	return true
}

// Reset makes every lane take no more statements and give its connection
// back once its statements are answered (pgxpool's Reset then closes it);
// new statements go to new lanes on new connections. For a server that
// changed role under the pool (a primary demoted to standby).
func (m *Mux) Reset() {
	m.mu.Lock()
	lanes := m.lanes
	m.lanes = nil
	m.idle = nil
	for _, l := range lanes {
		l.idle = false
		l.retiring = true
		l.poke()
	}
	m.kick()
	m.mu.Unlock()
}

// ReleaseIdle gives back at once the connections of lanes that have no
// statement, instead of after their linger: a transaction, stream or COPY
// is waiting for a connection.
func (m *Mux) ReleaseIdle() {
	m.mu.Lock()
	idle := m.idle
	m.idle = nil
	for _, l := range idle {
		m.removeLane(l)
		l.retiring = true
		l.poke()
	}
	m.mu.Unlock()
}
