package pgkit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shopdb/shopdb/pgkit/internal/sqllex"
	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// ReplicaConfig tunes OpenReplicated. The zero value takes the defaults
// documented on each field.
type ReplicaConfig struct {
	// MaxLag skips a standby further behind the primary than this: the
	// time since the last transaction it replayed, when it has not replayed
	// everything the primary had written when the check began. Default: 5s.
	MaxLag time.Duration
	// CheckInterval is how often every node's role (pg_is_in_recovery()),
	// reachability and lag are measured, and so how soon reads follow a
	// promotion or a new standby. A check waits up to CheckInterval or 1s,
	// whichever is longer, for each node's answer, so that a busy machine
	// does not mark a healthy standby down; one that does not answer in
	// that time takes no reads until it does. Default: 1s.
	CheckInterval time.Duration
	// ReadYourWrites keeps the reads of a context made by Session on the
	// primary for this long after that context's last write, so that a
	// caller sees what it just wrote. Default: 0 (off).
	ReadYourWrites time.Duration
}

// Replicated is a Source that sends autocommit reads (SELECT without FOR
// UPDATE/SHARE, outside a transaction) to the standbys among its nodes in
// turn, and everything else — writes, transactions, batches, COPY,
// Pipeline and Gather — to the primary DSN's pool. Which node is a standby
// is measured, not configured: see OpenReplicated. A standby that is down,
// or lags more than MaxLag, is skipped; with none left, reads go to the
// primary. Pass it to the generated New, WithTx, Gather and Pipeline like
// a *DB. Close it when done.
//
// A read on a standby that breaks before any of its rows reached the
// caller is run again, once, on the primary, when the fault is the
// standby's: its connection was lost (pgerr.ErrConnectionLost: reset,
// closed, the server shutting down or starting up, SQLSTATE 57P01–57P03,
// class 08), it could not be connected to (too many connections, 53300;
// not a standby for target_session_attrs), or recovery cancelled the
// statement (a conflict with recovery: 40001, 40P01, 57P04). Other errors
// are the read's own and are returned: a server error of the statement, a
// row not found, the caller's context ending, Config.QueryTimeout expiring
// (the primary would take as long), and a read that turned out to write
// (a function that writes: the standby refuses it with 25006, loudly; call
// it with Exec or in a transaction). Once a row reached the caller, a
// break is the caller's error, typed as on a *DB: it matches
// pgerr.ErrConnectionLost. A node whose connection broke takes no reads
// until its next check.
type Replicated struct {
	// primary is the primary DSN's pool, which every write uses (rawOf:
	// Gather and Pipeline too).
	primary *DB
	// nodes are the primary DSN's (first: its db is primary) and the
	// replica DSNs', in the order given.
	nodes  []*node
	cfg    Config
	rcfg   ReplicaConfig
	next   atomic.Uint64
	reads  sync.Map     // sql -> bool: is it a read
	readsN atomic.Int64 // entries stored in reads
	stop   chan struct{}
	done   sync.WaitGroup
}

var _ Source = (*Replicated)(nil)

// OpenReplicated opens a pool on the primary DSN and one on each replica
// DSN, all with cfg (Multiplex, Pooler, QueryTimeout and every other
// option apply to each), and measures them every
// ReplicaConfig.CheckInterval.
//
// Each DSN names a node, and a node's role is what it is measured to be,
// not which argument it came in:
//
//   - Reads go to the nodes in recovery (pg_is_in_recovery()) within
//     MaxLag, the primary DSN's included when it reaches a standby. A
//     replica DSN found out of recovery (promoted) takes no reads from
//     that check on; one that is down, at open or later, takes none until
//     it answers (its pool is opened then).
//   - Writes go to the primary DSN's pool, which must answer at open. To
//     follow a failover, give it every host with
//     target_session_attrs=read-write
//     (postgres://h1,h2/db?target_session_attrs=read-write), or a name or
//     address that moves to the new primary. When a check, or a write
//     refused with SQLSTATE 25006, finds the pool on a server in recovery,
//     and once more when the pool reaches a primary again, all its
//     connections are dropped (pgxpool's Reset, at most once per
//     CheckInterval), so that new ones find the current primary.
//     Meanwhile writes fail with an error pgerr.IsWrongServerRole matches.
//     (A multiplexed connection goes once its statements stop.)
//   - So that a node rebuilt as a standby after a switchover (the old
//     primary following the new one) takes reads again, list every node's
//     address among replicaDSNs, the current primary's too: while it is a
//     primary it is only measured.
//
// A standby's lag is measured against the primary DSN's node or, when
// that is not a primary, a node that is; with no primary reachable,
// standbys keep the lag last measured. A replica DSN that does not parse,
// or whose server refuses the connection for another reason than being
// down or of the wrong role (a wrong password), fails OpenReplicated.
func OpenReplicated(ctx context.Context, primaryDSN string, replicaDSNs []string, cfg Config, rcfg ReplicaConfig) (*Replicated, error) {
	if rcfg.MaxLag <= 0 {
		rcfg.MaxLag = 5 * time.Second
	}
	if rcfg.CheckInterval <= 0 {
		rcfg.CheckInterval = time.Second
	}
	for i, dsn := range replicaDSNs {
		if _, err := ParseConfig(dsn, cfg); err != nil {
			return nil, fmt.Errorf("replica %d: %w", i+1, err)
		}
	}
	primary, err := Open(ctx, primaryDSN, cfg)
	if err != nil {
		return nil, fmt.Errorf("primary: %w", err)
	}
	r := &Replicated{primary: primary, cfg: cfg, rcfg: rcfg, stop: make(chan struct{})}
	w := &node{}
	w.db.Store(primary)
	r.nodes = append(r.nodes, w)
	for _, dsn := range replicaDSNs {
		r.nodes = append(r.nodes, &node{dsn: dsn})
	}
	if err := r.openReplicas(ctx); err != nil {
		r.Close()
		return nil, err
	}
	r.check(ctx, false)
	r.done.Add(1)
	go r.watch()
	return r, nil
}

// openReplicas opens the replica nodes' pools at once. A node that is
// down, or not what its DSN's target_session_attrs asks for, is left to
// the checks; any other error is returned.
func (r *Replicated) openReplicas(ctx context.Context) error {
	errs := make([]error, len(r.nodes)-1)
	var wg sync.WaitGroup
	for i, n := range r.nodes[1:] {
		wg.Go(func() {
			if err := r.open(ctx, n); err != nil && ctx.Err() == nil && !notYet(err) {
				errs[i] = fmt.Errorf("replica %d: %w", i+1, err)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return ctx.Err()
}

// notYet reports an error of Open that a later attempt may not have: the
// server is down, starting, full, or not of the role the DSN asks for.
func notYet(err error) bool {
	return pgerr.IsTransient(err) || pgerr.IsWrongServerRole(err) || errors.Is(err, context.DeadlineExceeded)
}

// Primary is the primary DSN's pool.
func (r *Replicated) Primary() *DB { return r.primary }

// Close stops the measuring and closes every pool.
func (r *Replicated) Close() {
	select {
	case <-r.stop:
	default:
		close(r.stop)
	}
	r.done.Wait()
	for _, n := range r.nodes[1:] {
		if db := n.db.Load(); db != nil {
			db.Close()
		}
	}
	r.primary.Close()
}

// ReplicaStats says, per replica DSN in the order given, whether reads go
// to it, its lag and its role, as last measured.
func (r *Replicated) ReplicaStats() []ReplicaStat {
	out := make([]ReplicaStat, len(r.nodes)-1)
	for i, n := range r.nodes[1:] {
		out[i] = n.stat()
	}
	return out
}

// PrimaryStat is ReplicaStats for the primary DSN's node: Standby when it
// reached a server in recovery (writes then fail), and Healthy when reads
// go to it then.
func (r *Replicated) PrimaryStat() ReplicaStat { return r.nodes[0].stat() }

// ReplicaStat is one node's state, as last measured.
type ReplicaStat struct {
	// Healthy: reads go to it.
	Healthy bool
	// Lag is how far behind the primary it was.
	Lag time.Duration
	// Reachable: the last check had its answer.
	Reachable bool
	// Standby: in recovery at the last check that reached it.
	Standby bool
}

// sessionKey is the context key of Session's write tracker.
type sessionKey struct{}

type session struct{ lastWrite atomic.Int64 }

// Session returns a context whose writes through r keep its reads on the
// primary for ReplicaConfig.ReadYourWrites: one per request or user
// action, so that a caller reads what it wrote.
func (r *Replicated) Session(ctx context.Context) context.Context {
	return context.WithValue(ctx, sessionKey{}, &session{})
}

func wrote(ctx context.Context) {
	if s, ok := ctx.Value(sessionKey{}).(*session); ok {
		s.lastWrite.Store(time.Now().UnixNano())
	}
}

// forRead picks the node a read runs on: a healthy standby in turn, or
// nil for the primary DSN's pool.
func (r *Replicated) forRead(ctx context.Context, sql string) *node {
	if !r.isRead(sql) {
		return nil
	}
	if s, ok := ctx.Value(sessionKey{}).(*session); ok && r.rcfg.ReadYourWrites > 0 {
		if last := s.lastWrite.Load(); last != 0 && time.Since(time.Unix(0, last)) < r.rcfg.ReadYourWrites {
			return nil
		}
	}
	n := len(r.nodes)
	start := int(r.next.Add(1))
	for i := range n {
		if nd := r.nodes[(start+i)%n]; nd.healthy.Load() {
			return nd
		}
	}
	return nil
}

// isRead reports whether sql only reads: a SELECT (or VALUES, or a WITH
// of SELECTs) without a locking clause. The answer is cached per SQL text:
// the generated queries are a fixed set.
func (r *Replicated) isRead(sql string) bool {
	if v, ok := r.reads.Load(sql); ok {
		return v.(bool)
	}
	read := classifyRead(sql)
	// Bounded as pgx's statement caches are: SQL built with literals must
	// not grow it without end; past the bound a text is looked at each time.
	if r.readsN.Add(1) <= maxReadsCached {
		r.reads.Store(sql, read)
	}
	return read
}

// maxReadsCached caps the SQL texts isRead remembers.
const maxReadsCached = 10_000

// classifyRead is the lexer's conservative read test (sqllex.ReadOnly):
// one SELECT, VALUES, TABLE or WITH of reads, no locking clause, no INTO,
// no call of a function that writes or needs the primary; comments and
// literals hide nothing from it and fool it into nothing.
func classifyRead(sql string) bool { return sqllex.ReadOnly(sql) }

// Exec runs sql on the primary. A write that the server refuses for being
// read-only (the primary DSN reached a standby) matches
// pgerr.IsWrongServerRole, as in Replicated's other methods and its
// transactions (Pipeline and Gather run on the primary's *DB itself, where
// it is the server's SQLSTATE 25006).
func (r *Replicated) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	wrote(ctx)
	tag, err := r.primary.Exec(ctx, sql, args...)
	return tag, r.wrongRole(err)
}

// Query runs a read on a standby (again on the primary when the standby
// broke before a row was out, see Replicated) and anything else on the
// primary.
func (r *Replicated) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return r.query(ctx, (*DB).Query, sql, args)
}

// QueryStream is Query with the rows read as the caller asks for them, on
// a connection of their own (DB.QueryStream); the generated …Stream
// methods call it.
func (r *Replicated) QueryStream(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return r.query(ctx, (*DB).QueryStream, sql, args)
}

// runFunc is DB.Query or DB.QueryStream.
type runFunc func(*DB, context.Context, string, ...any) (pgx.Rows, error)

// query routes sql to a standby or the primary and runs it with run.
func (r *Replicated) query(ctx context.Context, run runFunc, sql string, args []any) (pgx.Rows, error) {
	n := r.forRead(ctx, sql)
	if n == nil {
		if r.isRead(sql) {
			return run(r.primary, ctx, sql, args...)
		}
		wrote(ctx)
		rows, err := run(r.primary, ctx, sql, args...)
		if err != nil {
			return nil, r.wrongRole(err)
		}
		return &roleRows{Rows: rows, typ: r.wrongRole}, nil
	}
	rows, err := run(n.db.Load(), ctx, sql, args...)
	if err != nil {
		if !r.readFailed(ctx, n, err) {
			return nil, err
		}
		return run(r.primary, ctx, sql, args...)
	}
	return &replicaRows{Rows: rows, r: r, n: n, ctx: ctx, run: run, sql: sql, args: args}, nil
}

// QueryRow is Query for one row.
func (r *Replicated) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rows, err := r.Query(ctx, sql, args...)
	return rowOf(ctx, sql, rows, err)
}

// CopyFrom copies into the primary.
func (r *Replicated) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	wrote(ctx)
	n, err := r.primary.CopyFrom(ctx, table, columns, src)
	return n, r.wrongRole(err)
}

// SendBatch sends b to the primary: a batch may write.
func (r *Replicated) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	wrote(ctx)
	return &roleBatch{BatchResults: r.primary.SendBatch(ctx, b), typ: r.wrongRole}
}

// Begin starts a transaction on the primary: every statement of a
// transaction, reads included, runs there.
func (r *Replicated) Begin(ctx context.Context) (pgx.Tx, error) {
	return r.BeginTx(ctx, pgx.TxOptions{})
}

// BeginTx is Begin with options. A write the transaction's server refuses
// for being in recovery fails with an error pgerr.IsWrongServerRole
// matches, unless the transaction is read-only.
func (r *Replicated) BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error) {
	wrote(ctx)
	tx, err := r.primary.BeginTx(ctx, opts)
	if err != nil || opts.AccessMode == pgx.ReadOnly {
		return tx, err
	}
	if t, ok := tx.(*Tx); ok {
		return t.over(&roleTx{Tx: t.tx, typ: r.wrongRole}), nil
	}
	return tx, nil
}

// RunInTx runs fn in a transaction on the primary, as WithTx does.
func (r *Replicated) RunInTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return runInTx(ctx, r, fn)
}
