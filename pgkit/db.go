package pgkit

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopdb/shopdb/pgkit/internal/mux"
	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// DB is a connection pool that runs the generated queries: pass it to the
// generated New. Over a plain *pgxpool.Pool it adds a bounded wait for a
// free connection (ErrPoolExhausted) and typed errors (pgerr.ErrNotFound,
// *pgerr.ConstraintError, *pgerr.QueryError) that name the query. It is a
// Source, so WithTx, Gather and Pipeline take it. It is safe for concurrent
// use.
type DB struct {
	pool           *pgxpool.Pool
	mx             *mux.Mux // nil unless Config.Multiplex
	maxConns       int32    // the pool's (pgxpool's Config() copies the whole config)
	acquireTimeout time.Duration
	clock          *acquireClock // the acquires' shared deadlines; nil when acquireTimeout < 0
	queryTimeout   time.Duration
	commitResolve  time.Duration // Config.CommitResolveTimeout
	timeouts       atomic.Int64  // acquires ended by acquireTimeout
	exhausted      atomic.Int64  // those of them that found the pool full
	gate           *connectGate  // paces connection attempts while they fail (reconnect.go)
	role           *roleGuard    // nil unless the DSN is meant for the primary (role.go)
	lastReset      atomic.Int64  // unix nanoseconds of the last resetAtMostEvery
	decoders       decoders      // made of Config.Decoders (decode.go)
	plans          *planEpochs   // stale plans met, for transactions (plans.go)
}

// Open creates a pool for dsn (a postgres:// URL or key=value string, as
// DATABASE_URL holds) and checks that the server answers. Errors never
// contain the password. A dsn with target_session_attrs=primary or
// read-write makes a pool that follows the primary (see Config).
func Open(ctx context.Context, dsn string, cfg Config) (*DB, error) {
	pcfg, multiplex, err := parseConfig(dsn, cfg)
	if err != nil {
		return nil, err
	}
	role := guardRole(pcfg)
	if multiplex && pcfg.ConnConfig.DefaultQueryExecMode == pgx.QueryExecModeCacheDescribe {
		return nil, errors.New("open pool: Config.Multiplex prepares named statements on each connection and sends every statement as a transaction of its own, which a transaction pooler (Config.Pooler, pgbouncer=true) or default_query_exec_mode=cache_describe rules out: turn one of them off")
	}
	if multiplex && pcfg.MaxConns < 2 {
		return nil, errors.New("open pool: Config.Multiplex needs MaxConns 2 or more: one connection stays for transactions, streams and COPY")
	}
	var mx *mux.Mux
	plans := &planEpochs{}
	// The multiplexer remembers what each connection has prepared, and
	// plans which connections forgot a stale statement; the pool tells
	// them when one goes.
	before := pcfg.BeforeClose
	pcfg.BeforeClose = func(c *pgx.Conn) {
		plans.closed(c)
		if mx != nil {
			mx.Forget(c.PgConn())
		}
		if before != nil {
			before(c)
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("open pool: %w", err)
	}
	// pgxpool connects lazily; ping so that a wrong host or password is
	// reported here, within ConnectTimeout, not at the first query.
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open pool: %w", scrubSecret(err, dsn))
	}
	db := NewDB(pool, cfg.AcquireTimeout)
	db.queryTimeout = cfg.QueryTimeout
	db.role = role
	db.decoders = cfg.Decoders.make()
	db.plans = plans
	if cfg.CommitResolveTimeout > 0 {
		db.commitResolve = cfg.CommitResolveTimeout
	}
	if multiplex {
		mcfg := mux.Config{
			Pool: pool, Acquire: db.acquireForLane, Exhausted: db.exhaustedError, AcquireTimeout: db.acquireTimeout,
			Lanes: int(cfg.MultiplexConns), Depth: cfg.MultiplexDepth, Tracer: pcfg.ConnConfig.Tracer,
			StalePlan: plans.stale,
		}
		if role != nil {
			mcfg.Unfit = role.unfitLane
		}
		mx = mux.New(mcfg)
		db.mx = mx
	}
	return db, nil
}

// NewDB wraps an existing pool; acquireTimeout is as Config's. The other
// options of Config that are pgkit's own take their defaults
// (CommitResolveTimeout 30s, no QueryTimeout, no multiplexing): Open
// sets them all.
func NewDB(pool *pgxpool.Pool, acquireTimeout time.Duration) *DB {
	if acquireTimeout == 0 {
		acquireTimeout = DefaultAcquireTimeout
	}
	d := &DB{pool: pool, acquireTimeout: acquireTimeout, maxConns: pool.Config().MaxConns, commitResolve: DefaultCommitResolveTimeout}
	if acquireTimeout > 0 {
		d.clock = newAcquireClock(acquireTimeout)
	}
	d.gate = d.newGate()
	return d
}

// Pool is the underlying pgxpool, for what DB does not wrap (LISTEN, large
// objects). Errors of its methods are pgx's, not typed.
func (d *DB) Pool() *pgxpool.Pool { return d.pool }

// Close closes every connection, waiting for the ones in use to come back
// (multiplexed connections once their statements are answered).
func (d *DB) Close() {
	d.gate.close()
	if d.mx != nil {
		d.mx.Close()
	}
	d.pool.Close()
	if d.mx != nil {
		d.mx.Stop()
	}
}

// reset drops every connection, those in use once they come back, and
// moves multiplexed statements to new connections: the server behind the
// pool changed role.
func (d *DB) reset() {
	d.pool.Reset()
	if d.mx != nil {
		d.mx.Reset()
	}
}

// Multiplexing reports whether the DB multiplexes (Config.Multiplex).
func (d *DB) Multiplexing() bool { return d.mx != nil }

// MultiplexStats reports the multiplexer's lanes and counters; zero when
// the DB does not multiplex.
func (d *DB) MultiplexStats() MultiplexStats {
	if d.mx == nil {
		return MultiplexStats{}
	}
	return MultiplexStats(d.mx.Stats())
}

// Ping checks that a connection can be acquired and the server answers.
// Without a deadline on ctx it waits at most Config.QueryTimeout (when set)
// for both, so a health check cannot hang on a frozen server.
func (d *DB) Ping(ctx context.Context) error {
	ctx, cancel := d.deadline(ctx)
	defer cancel()
	c, err := d.acquire(ctx)
	if err != nil {
		return d.roleErr(err)
	}
	defer c.Release()
	return d.roleErr(pgerr.Map(ctx, "", c.Ping(ctx)))
}

// Exec runs sql: multiplexed when the DB multiplexes, else on a pooled
// connection. A statement that cannot have run (its connection found dead
// before it left, a stale prepared statement) is run again; one that may
// have run never is (executor.go).
func (d *DB) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	ctx, cancel := d.deadline(ctx)
	defer cancel()
	tag, err := d.exec(ctx, sql, args)
	return tag, d.roleErr(err)
}

// Query runs sql: multiplexed (the rows read in full, in memory) when the
// DB multiplexes, else on a pooled connection given back when the rows are
// closed or read to the end. Reruns as for Exec.
func (d *DB) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	tctx, cancel := d.deadline(ctx)
	rows, err := d.query(ctx, tctx, cancel, sql, args, false)
	return rows, d.roleErr(err)
}

// QueryStream is Query on a pooled connection of its own, also when the
// DB multiplexes: the rows are read off the connection as the caller asks
// for them, in constant memory, and the connection goes back when they are
// closed or read to the end. The generated …Stream methods call it.
func (d *DB) QueryStream(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	tctx, cancel := d.deadline(ctx)
	rows, err := d.query(ctx, tctx, cancel, sql, args, true)
	return rows, d.roleErr(err)
}

// QueryRow runs sql on a pooled connection, given back by Scan. A dead
// connection is replaced once, as for Exec. The row must be scanned, as
// pgx's must: until Scan is called the connection stays taken (and
// Config.QueryTimeout's deadline runs), so a row never scanned holds its
// connection for good and Close waits for it forever.
func (d *DB) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return d.queryRow(ctx, sql, args)
}

// deadline applies Config.QueryTimeout to a ctx without a deadline.
func (d *DB) deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	return withQueryTimeout(ctx, d.queryTimeout)
}

func noCancel() {}

// CopyFrom bulk-loads rows with COPY on a pooled connection, as pgx's
// CopyFrom does, with values of common types encoded by pgkit
// (copy_binary.go) and pointers of common types taken as their values
// (args.go): the typed source of a pgkitgen-generated :copyfrom
// iterator, or each row of src.
func (d *DB) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	ctx, cancel := d.deadline(ctx)
	defer cancel()
	c, err := d.acquire(ctx)
	if err != nil {
		return 0, d.roleErr(pgerr.Map(ctx, "", err))
	}
	defer c.Release()
	n, err := copyFromSource(src, func(src pgx.CopyFromSource) (int64, error) { // no pointers (args.go), no Pull (copy_push.go)
		return copyBinary(ctx, c.Conn(), table, columns, src)
	})
	return n, d.roleErr(autocommitOutcome(ctx, "", pgerr.Map(ctx, "", err)))
}

// SendBatch sends b on a pooled connection, given back by Close.
func (d *DB) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	ctx, cancel := d.deadline(ctx)
	c, err := d.acquire(ctx)
	if err != nil {
		cancel()
		return errBatch{d.roleErr(pgerr.Map(ctx, batchSQL(b), err))}
	}
	br := &boundBatch{BatchResults: batchOn(ctx, c, b, c, d.decoders), cancel: cancel}
	if d.role != nil {
		return &roleBatch{BatchResults: br, typ: d.roleErr}
	}
	return br
}

// Begin starts a transaction on a pooled connection; see BeginTx.
func (d *DB) Begin(ctx context.Context) (pgx.Tx, error) {
	return d.BeginTx(ctx, pgx.TxOptions{})
}

// BeginTx starts a transaction with options on a pooled connection, given
// back by Commit or Rollback. Taking the connection and sending BEGIN
// together wait at most the acquire timeout.
func (d *DB) BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error) {
	var (
		tx pgx.Tx
		c  *pgxpool.Conn
	)
	d.yieldIdleLanes()
	err := d.bounded(ctx, func(actx context.Context) (err error) {
		// The Tx gives the connection back when it ends; actx bounds only
		// the acquire and the BEGIN, never the transaction.
		if c, err = acquirePool(actx, d.pool); err != nil {
			return err
		}
		if err = d.syncPlans(actx, c.Conn()); err == nil {
			tx, err = c.BeginTx(actx, opts)
		}
		if err != nil {
			c.Release()
		}
		return err
	})
	if err != nil {
		return nil, pgerr.Map(ctx, "", err)
	}
	t := newTxWithTimeout(tx, d.queryTimeout)
	t.conn, t.db, t.resolve, t.top = c, d, d.commitResolve, true
	return t, nil
}

// syncPlans has c forget its prepared statements if a stale plan was met
// since it last did (plans.go).
func (d *DB) syncPlans(ctx context.Context, c *pgx.Conn) error {
	if d.plans == nil {
		return nil
	}
	forgot, err := d.plans.sync(ctx, c)
	if forgot && d.mx != nil {
		d.mx.Forget(c.PgConn())
	}
	return err
}

// RunInTx runs fn in a transaction with WithTx's defaults (retried on
// serialization failure and deadlock); the generated Store's RunInTx calls
// it.
func (d *DB) RunInTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return runInTx(ctx, d, fn)
}

// acquire takes a connection, waiting at most the acquire timeout. pgxpool
// itself waits until ctx ends, which under overload means every request
// queues until its own deadline; failing fast sheds the load instead.
func (d *DB) acquire(ctx context.Context) (c *pgxpool.Conn, err error) {
	d.yieldIdleLanes()
	return d.acquireForLane(ctx)
}

// acquireForLane is acquire without yieldIdleLanes: the multiplexer takes
// its lanes' connections with it.
func (d *DB) acquireForLane(ctx context.Context) (c *pgxpool.Conn, err error) {
	err = d.bounded(ctx, func(actx context.Context) error {
		c, err = acquirePool(actx, d.pool)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("acquire connection: %w", err)
	}
	return c, nil
}

// yieldIdleLanes gives idle multiplexed connections back at once when a
// transaction, stream or COPY would otherwise wait for one: a lane
// lingers after its last statement, which must not cost them the wait.
func (d *DB) yieldIdleLanes() {
	if d.mx == nil {
		return
	}
	if st := d.pool.Stat(); st.IdleConns() == 0 && st.TotalConns() >= st.MaxConns() {
		d.mx.ReleaseIdle()
	}
}

// bounded runs acquire, which takes a pooled connection with the context
// it is given, with the acquire timeout applied and through the reconnect
// gate (reconnect.go), and names the failure: *PoolExhaustedError when the
// pool stayed full for the whole timeout.
func (d *DB) bounded(ctx context.Context, acquire func(context.Context) error) error {
	if d.acquireTimeout < 0 {
		return d.gate.pass(ctx, d.wouldConnect, acquire)
	}
	w := d.clock.wait(ctx) // the acquire timeout, without a timer of its own (acquirewait.go)
	err := d.gate.pass(w.ctx, d.wouldConnect, acquire)
	timedOut := err != nil && w.timedOut()
	w.end()
	if err == nil {
		return nil
	}
	var waited *reconnectError
	if errors.As(err, &waited) {
		return err // the gate's attempt failed: not a wait for a busy pool
	}
	if timedOut {
		d.timeouts.Add(1) // pgxpool counted it as canceled
		// Every connection open means they were all busy while we waited,
		// even if one came back since.
		if st := d.pool.Stat(); st.AcquiredConns() >= st.MaxConns() || st.TotalConns() >= st.MaxConns() {
			return d.exhaustedError()
		}
		return fmt.Errorf("no connection after %s, the pool is not full: the server is slow to accept connections: %w", d.acquireTimeout, err)
	}
	return err
}

// exhaustedError counts a caller that waited the whole acquire timeout for
// a connection (or, multiplexing, for room on one) and returns its error:
// the one place a *PoolExhaustedError is made.
func (d *DB) exhaustedError() error {
	d.exhausted.Add(1)
	st := d.pool.Stat()
	return &PoolExhaustedError{Waited: d.acquireTimeout, InUse: st.AcquiredConns(), MaxConns: st.MaxConns()}
}

// Stats reports the pool's occupancy and counters.
func (d *DB) Stats() PoolStats {
	// pgxpool counts an acquire that our AcquireTimeout ended as canceled;
	// it was not the caller's doing. Read ours first: pgxpool has counted
	// every timeout we have, so the difference is never negative.
	timeouts := d.timeouts.Load()
	exhausted := d.exhausted.Load()
	s := d.pool.Stat()
	return PoolStats{
		MaxConns:      s.MaxConns(),
		TotalConns:    s.TotalConns(),
		InUse:         s.AcquiredConns(),
		Idle:          s.IdleConns(),
		Constructing:  s.ConstructingConns(),
		Acquires:      s.AcquireCount(),
		WaitedAcquire: s.EmptyAcquireCount(),
		WaitTime:      s.AcquireDuration(),
		Canceled:      max(0, s.CanceledAcquireCount()-timeouts),
		Exhausted:     exhausted,
	}
}
