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
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopdb/shopdb/pgkit/internal/sqllex"
	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// ReplicaConfig tunes OpenReplicated. The zero value takes the defaults
// documented on each field.
type ReplicaConfig struct {
	// MaxLag skips a replica further behind the primary than this: the
	// time since the last transaction it replayed, when it has not replayed
	// everything the primary wrote. Default: 5s.
	MaxLag time.Duration
	// CheckInterval is how often each replica's reachability and lag are
	// measured. A check waits up to CheckInterval or 1s, whichever is
	// longer, for the primary's and the replicas' answers, so that a busy
	// machine does not mark a healthy replica down; one that does not
	// answer in that time is skipped until it does. Default: 1s.
	CheckInterval time.Duration
	// ReadYourWrites keeps the reads of a context made by Session on the
	// primary for this long after that context's last write, so that a
	// caller sees what it just wrote. Default: 0 (off).
	ReadYourWrites time.Duration
}

// Replicated is a Source that sends autocommit reads (SELECT without FOR
// UPDATE/SHARE, outside a transaction) to healthy replicas in turn, and
// everything else — writes, transactions, batches, COPY — to the primary.
// A replica that is down or lags more than MaxLag is skipped; with none
// left, reads go to the primary. A read that fails on a replica because its
// connection broke is run again on the primary. Pass it to the generated
// New, WithTx, Gather and Pipeline like a *DB. Close it when done.
type Replicated struct {
	primary  *DB
	replicas []*replica
	cfg      ReplicaConfig
	next     atomic.Uint64
	reads    sync.Map // sql -> bool: is it a read
	stop     chan struct{}
	done     sync.WaitGroup
}

type replica struct {
	db      *DB
	healthy atomic.Bool
	lag     atomic.Int64 // nanoseconds, last measured
}

var _ Source = (*Replicated)(nil)

// OpenReplicated opens a pool on the primary and one on each replica (all
// with cfg) and starts measuring the replicas.
func OpenReplicated(ctx context.Context, primaryDSN string, replicaDSNs []string, cfg Config, rcfg ReplicaConfig) (*Replicated, error) {
	if rcfg.MaxLag <= 0 {
		rcfg.MaxLag = 5 * time.Second
	}
	if rcfg.CheckInterval <= 0 {
		rcfg.CheckInterval = time.Second
	}
	primary, err := Open(ctx, primaryDSN, cfg)
	if err != nil {
		return nil, fmt.Errorf("primary: %w", err)
	}
	r := &Replicated{primary: primary, cfg: rcfg, stop: make(chan struct{})}
	for i, dsn := range replicaDSNs {
		// A replica down at start is not an error: it is skipped until it
		// answers. pgxpool connects lazily, so only parse errors fail here.
		pcfg, err := ParseConfig(dsn, cfg)
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("replica %d: %w", i+1, err)
		}
		pool, err := pgxpool.NewWithConfig(ctx, pcfg)
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("replica %d: %w", i+1, err)
		}
		db := NewDB(pool, cfg.AcquireTimeout)
		db.queryTimeout = cfg.QueryTimeout
		r.replicas = append(r.replicas, &replica{db: db})
	}
	r.check(ctx)
	r.done.Add(1)
	go r.watch()
	return r, nil
}

// Primary is the primary's pool.
func (r *Replicated) Primary() *DB { return r.primary }

// Close stops the measuring and closes every pool.
func (r *Replicated) Close() {
	select {
	case <-r.stop:
	default:
		close(r.stop)
	}
	r.done.Wait()
	r.primary.Close()
	for _, rep := range r.replicas {
		rep.db.Close()
	}
}

// ReplicaStats says, per replica, whether reads go to it and its lag.
func (r *Replicated) ReplicaStats() []ReplicaStat {
	out := make([]ReplicaStat, len(r.replicas))
	for i, rep := range r.replicas {
		out[i] = ReplicaStat{Healthy: rep.healthy.Load(), Lag: time.Duration(rep.lag.Load())}
	}
	return out
}

// ReplicaStat is one replica's state.
type ReplicaStat struct {
	Healthy bool
	Lag     time.Duration
}

// checkTimeout is the least a replica check waits for an answer.
const checkTimeout = time.Second

func (r *Replicated) watch() {
	defer r.done.Done()
	tick := time.NewTicker(r.cfg.CheckInterval)
	defer tick.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-tick.C:
			ctx, cancel := context.WithTimeout(context.Background(), max(r.cfg.CheckInterval, checkTimeout))
			r.check(ctx)
			cancel()
		}
	}
}

// check measures every replica: reachable, in recovery, and its lag.
func (r *Replicated) check(ctx context.Context) {
	var primaryLSN string
	if err := r.primary.QueryRow(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&primaryLSN); err != nil {
		return // the primary is away: leave the replicas as they were
	}
	for _, rep := range r.replicas {
		var inRecovery, caughtUp bool
		var lagSeconds float64
		err := rep.db.QueryRow(ctx, `SELECT pg_is_in_recovery(),
				coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false),
				coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0)::float8`,
			primaryLSN).Scan(&inRecovery, &caughtUp, &lagSeconds)
		lag := time.Duration(lagSeconds * float64(time.Second))
		if caughtUp {
			lag = 0
		}
		rep.lag.Store(int64(lag))
		rep.healthy.Store(err == nil && inRecovery && lag <= r.cfg.MaxLag)
	}
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

// forRead picks where a read runs: a healthy replica in turn, or the
// primary.
func (r *Replicated) forRead(ctx context.Context, sql string) (*DB, bool) {
	if !r.isRead(sql) {
		return r.primary, false
	}
	if s, ok := ctx.Value(sessionKey{}).(*session); ok && r.cfg.ReadYourWrites > 0 {
		if last := s.lastWrite.Load(); last != 0 && time.Since(time.Unix(0, last)) < r.cfg.ReadYourWrites {
			return r.primary, false
		}
	}
	n := len(r.replicas)
	start := int(r.next.Add(1))
	for i := range n {
		if rep := r.replicas[(start+i)%n]; rep.healthy.Load() {
			return rep.db, true
		}
	}
	return r.primary, false
}

// isRead reports whether sql only reads: a SELECT (or VALUES, or a WITH
// of SELECTs) without a locking clause. The answer is cached per SQL text:
// the generated queries are a fixed set.
func (r *Replicated) isRead(sql string) bool {
	if v, ok := r.reads.Load(sql); ok {
		return v.(bool)
	}
	read := classifyRead(sql)
	r.reads.Store(sql, read)
	return read
}

// classifyRead is the lexer's conservative read test (sqllex.ReadOnly):
// one SELECT, VALUES, TABLE or WITH of reads, no locking clause, no INTO,
// no call of a function that writes or needs the primary; comments and
// literals hide nothing from it and fool it into nothing.
func classifyRead(sql string) bool { return sqllex.ReadOnly(sql) }

// Exec runs sql on the primary.
func (r *Replicated) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	wrote(ctx)
	return r.primary.Exec(ctx, sql, args...)
}

// Query runs a read on a replica (the primary when its connection broke)
// and anything else on the primary.
func (r *Replicated) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return r.query(ctx, (*DB).Query, sql, args)
}

// QueryStream is Query with the rows read as the caller asks for them, on
// a connection of their own (DB.QueryStream); the generated …Stream
// methods call it.
func (r *Replicated) QueryStream(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return r.query(ctx, (*DB).QueryStream, sql, args)
}

// query routes sql to a replica or the primary and runs it with run.
func (r *Replicated) query(ctx context.Context, run func(*DB, context.Context, string, ...any) (pgx.Rows, error), sql string, args []any) (pgx.Rows, error) {
	db, onReplica := r.forRead(ctx, sql)
	if !onReplica {
		if !r.isRead(sql) {
			wrote(ctx)
		}
		return run(r.primary, ctx, sql, args...)
	}
	rows, err := run(db, ctx, sql, args...)
	if err != nil && errors.Is(err, pgerr.ErrConnectionLost) {
		r.markDown(db)
		return run(r.primary, ctx, sql, args...)
	}
	return rows, err
}

// QueryRow is Query for one row.
func (r *Replicated) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rows, err := r.Query(ctx, sql, args...)
	return rowOf(ctx, sql, rows, err)
}

// CopyFrom copies into the primary.
func (r *Replicated) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	wrote(ctx)
	return r.primary.CopyFrom(ctx, table, columns, src)
}

// SendBatch sends b to the primary: a batch may write.
func (r *Replicated) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	wrote(ctx)
	return r.primary.SendBatch(ctx, b)
}

// Begin starts a transaction on the primary: every statement of a
// transaction, reads included, runs there.
func (r *Replicated) Begin(ctx context.Context) (pgx.Tx, error) {
	wrote(ctx)
	return r.primary.Begin(ctx)
}

// BeginTx is Begin with options.
func (r *Replicated) BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error) {
	wrote(ctx)
	return r.primary.BeginTx(ctx, opts)
}

// RunInTx runs fn in a transaction on the primary, as WithTx does.
func (r *Replicated) RunInTx(ctx context.Context, fn func(pgx.Tx) error) error {
	wrote(ctx)
	return runInTx(ctx, r.primary, fn)
}

// markDown takes a replica out of the reads until its next check.
func (r *Replicated) markDown(db *DB) {
	for _, rep := range r.replicas {
		if rep.db == db {
			rep.healthy.Store(false)
		}
	}
}
