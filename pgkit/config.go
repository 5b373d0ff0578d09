package pgkit

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Config tunes the pool that Open creates. Every zero field keeps what the
// connection string says (pgxpool's pool_max_conns and friends) and
// otherwise takes the default documented on it, so Config{} is ready to use.
// A negative value is refused (Open and ParseConfig fail naming the
// field), but for AcquireTimeout, where it means no bound.
//
// Following the primary. A connection string that asks for the primary,
// with target_session_attrs=read-write or primary (give it every host of
// the formation: postgres://h1,h2/db?target_session_attrs=read-write),
// makes a pool that keeps to the current primary through a failover:
//   - a connection whose server reports itself a standby (in_hot_standby)
//     or, for read-write, read-only (default_transaction_read_only) is
//     closed instead of used, and another taken or made (pgx checks a new
//     one's role as it connects). The server sends these reports at the
//     start of a session and with the first answer after either changed:
//     no query is added. An idle connection's report is as old as its
//     last answer, so a connection idle for a second is pinged before use
//     (as pgxpool does), and after the pool lost a connection, or found
//     one on the wrong server, so is each connection idle since then;
//   - a write refused with SQLSTATE 25006 nonetheless (the server turned
//     read-only while the connection was in use) by the DB's Exec, Query,
//     QueryRow, SendBatch or CopyFrom, multiplexed or not, drops the
//     pool's connections, at most once a second, and its error matches
//     pgerr.IsWrongServerRole. (In a transaction, WithTx closes that
//     connection and runs the function again: TxOptions.FailoverWait.)
//
// Use read-write with pg_auto_failover, which keeps a node it promotes
// read-only until the old primary is fenced; primary would take writes
// to it, and have them refused. The reports need PostgreSQL 14 or later
// and no transaction pooler in between (PgBouncer passes a server
// connection's report to the one client that used it first); without
// them only the 25006 rule applies. A connection string without
// target_session_attrs (a single host, or an address that moves to the
// new primary) is taken as it is: add target_session_attrs=read-write to
// it to have this. No Config field turns it on: the connection string
// already says which server it wants, and pgx refuses the others.
//
// Reconnecting. While connecting fails (the server down, starting up or
// full, no host of the role asked for: a failover before the new primary
// is up), a pool makes one connection attempt at a time; callers that
// need a new connection wait for its outcome, up to AcquireTimeout and
// their context, and then fail with the last attempt's error, which
// pgerr.IsTransient or pgerr.IsWrongServerRole matches. Callers that an
// idle connection serves do not wait. The delay between attempts starts
// at 25 ms and doubles up to 250 ms, each wait a random half to whole of
// it, so that processes that lost the server together do not come back
// in step, and writes resume within about 250 ms (plus one connection
// set-up) of a new primary accepting them. The first attempt that
// succeeds ends the waiting. Every pool does this; when nothing failed it
// costs an acquire one atomic load.
type Config struct {
	// MaxConns caps open connections. Default: pgxpool's, max(4,
	// runtime.NumCPU()).
	MaxConns int32
	// MinConns is kept open even when idle. Default: 0.
	MinConns int32
	// MaxConnLifetime closes a connection this long after it was opened.
	// Default: 1h.
	MaxConnLifetime time.Duration
	// MaxConnIdleTime closes a connection idle this long. Default: 30m.
	MaxConnIdleTime time.Duration
	// ConnectTimeout bounds dialing and authenticating one connection, and so
	// how long Open waits for an unreachable server. Default: 5s.
	ConnectTimeout time.Duration
	// AcquireTimeout bounds how long a query waits for a free pooled
	// connection before failing with ErrPoolExhausted, instead of queueing
	// until its context ends. The acquires that start within a sixteenth
	// of it share one deadline (no timer per statement), so a wait ends
	// between AcquireTimeout and a sixteenth more. Default: 5s; negative:
	// wait as long as the context allows.
	AcquireTimeout time.Duration
	// QueryTimeout bounds each statement whose context has no deadline of
	// its own, so that a frozen server cannot hang a caller that passed
	// context.Background(). It bounds, on the DB: Exec, Query and QueryRow
	// with their rows (streams too, which must then be read within it),
	// CopyFrom, CopyTo, SendBatch (the :batch methods, until the results
	// are closed), and Ping with its wait for a connection; in a
	// transaction begun on the DB (Begin, WithTx): each statement,
	// savepoint, Commit and Rollback, one at a time, not the transaction as
	// a whole; each round of Pipeline on either; and so the statements of
	// Gather's functions. It does not bound what runs on Pool() or on
	// pools, connections and transactions that Wrap made, nor Begin's own
	// wait, which AcquireTimeout bounds. A statement it cuts short has its
	// connection closed, as pgx does, except inside Gather and Pipeline,
	// where the statement is first cancelled on the server and the
	// connection kept, which takes up to 2s more when the server does not
	// answer. Default: none.
	QueryTimeout time.Duration
	// TCPUserTimeout bounds how long data sent to the server may stay
	// unacknowledged before the connection is given up (Linux's
	// TCP_USER_TIMEOUT): a server host that vanished without a goodbye
	// (power loss, a network partition) then fails the query after this
	// long, not after the kernel's ~15 minutes of retransmissions. Ignored
	// on other systems. Default: the kernel's.
	TCPUserTimeout time.Duration
	// ReadBufferSize is how many bytes a connection asks its socket for
	// at once. pgx reads into its message buffer, 8 KiB, so a result of
	// many rows costs a read system call, and often a wait for the socket,
	// per 8 KiB; a buffer under it takes what the server has sent in one
	// (readbuffer.go). Default: DefaultReadBufferSize, per connection;
	// 8192 or less: pgx's reads as they are, no buffer added; more than
	// MaxReadBufferSize is refused. A program that hijacks pooled
	// connections (pgconn.Hijack) sets 8192: Hijack cannot see bytes
	// left in this buffer.
	ReadBufferSize int
	// ApplicationName is shown in pg_stat_activity. Default: the running
	// program's name (DefaultApplicationName).
	ApplicationName string
	// Pooler says what sits between the pool and the server. Behind a
	// transaction pooler (PgBouncer or Supavisor in transaction mode) a
	// session's prepared statements and settings do not survive from one
	// transaction to the next, so pgkit then runs statements with
	// pgx.QueryExecModeCacheDescribe (unnamed statements, descriptions
	// cached per connection) and refuses server settings as startup
	// parameters. Default: PoolerNone, or PoolerTransaction when the
	// connection string says pgbouncer=true (or on, yes, 1) or names
	// Supabase's transaction pooler (port 6543 of *.pooler.supabase.com).
	Pooler Pooler
	// Tracer observes every query, batch and COPY, e.g. pgslog.NewTracer.
	// Default: none.
	Tracer pgx.QueryTracer
	// AfterConnect runs on every new connection, after pgkit's own set-up
	// of it and before the pool hands it out: the place to register the
	// project's enum, composite and domain types (and their arrays) that
	// pgx decodes only once they are known to the connection's type map:
	//
	//	AfterConnect: func(ctx context.Context, conn *pgx.Conn) error {
	//		types, err := conn.LoadTypes(ctx, []string{"status", "_status", "address", "_address"})
	//		if err != nil {
	//			return err
	//		}
	//		conn.TypeMap().RegisterTypes(types)
	//		return nil
	//	},
	//
	// An error fails that connection (Open, or the query that wanted it)
	// with the error wrapped. Multiplexed statements (Config.Multiplex)
	// decode with the types and scan wrappers registered here too, in
	// their callers' goroutines: with copies of the enum, array,
	// composite and range types, and with the other codecs themselves, so
	// a codec of your own must be safe for concurrent use, as pgx's are.
	// Default: none.
	AfterConnect func(ctx context.Context, conn *pgx.Conn) error
	// Multiplex shares connections between concurrent callers: the
	// autocommit statements of DB.Exec, Query and QueryRow (every generated
	// :one, :many, :exec and :execrows method outside a transaction) from
	// any number of goroutines are queued per connection and written in
	// pipeline mode while earlier results are still coming back, each with
	// its own Sync, so that one statement's failure never touches another
	// caller's. Results are read off the connection in full as they arrive
	// (use the generated …Stream methods for large ones, which take a
	// connection of their own). Transactions, streams, COPY, SendBatch and
	// Pipeline take a dedicated connection as without it. Statements that
	// would change the shared session (SET, temporary tables, session
	// advisory locks, LISTEN, cursors, explicit BEGIN) fail with
	// ErrSessionState. Results are decoded with the types registered on
	// the connections (AfterConnect), as without it. Also turned on by
	// pgkit_multiplex=true (or on, yes, 1) in the connection string.
	// Default: off.
	Multiplex bool
	// MultiplexConns caps the connections multiplexing uses at once, out
	// of MaxConns; the rest stay for transactions, streams and COPY. New
	// statements go to an idle multiplexed connection, or open another up
	// to this cap; only when all are open and busy are statements
	// pipelined behind others, so a lower cap means deeper pipelines
	// (fewer round trips and system calls per statement) and a higher one
	// less waiting behind slow statements. A connection multiplexes only
	// while it has statements and goes back to the pool 20 ms after its
	// last. Default: DefaultMultiplexConns(MaxConns), 3 on 2 CPUs.
	MultiplexConns int32
	// MultiplexDepth caps the statements one multiplexed connection
	// carries at once (queued or in flight). When every connection is at
	// the cap, callers wait for room up to AcquireTimeout, then fail with
	// ErrPoolExhausted. Default: DefaultMultiplexDepth (100).
	MultiplexDepth int
	// CommitResolveTimeout bounds how long the Commit of a transaction
	// begun on the DB (Begin, WithTx) looks up the outcome of a COMMIT
	// whose answer was lost with its connection (a server restart, a
	// failover): it asks the pool's primary, reconnecting as it comes
	// back, whether the transaction committed (pg_xact_status). Past this
	// bound, or the caller's context, the outcome is reported unknown
	// (pgerr.ErrCommitUnknown). It should cover the time the database
	// takes to fail over. Default: DefaultCommitResolveTimeout (30s).
	CommitResolveTimeout time.Duration
	// Decoders are the generated package's Scan destinations, by query
	// name (pgkitgen's Decoders()), from which Open makes a binary
	// decoder per query (package pgdecode): rows of a query found here
	// are decoded by it, without pgx's scan plans, when Scan is given
	// destinations of the generated types; a column of another type or
	// format than generated (checked once per result) is decoded by pgx's
	// plan for it, and a value the decoder would not decode exactly as
	// pgx does (NULL into a non-pointer, malformed) has pgx scan the row,
	// so the error is pgx's. The rows of DB.Query and DB.QueryRow, pooled
	// or multiplexed, of a Tx begun on the DB, and of Pipeline on either
	// use them (SendBatch's do not yet). Default: nil, pgx's scan plans
	// for every row.
	Decoders Decoders
}

// validate refuses negative values where a field has no meaning for them
// (AcquireTimeout's negative means "no bound", documented): a typo must
// not pass as a default.
func (c Config) validate() error {
	for _, f := range []struct {
		name     string
		negative bool
	}{
		{"MaxConns", c.MaxConns < 0}, {"MinConns", c.MinConns < 0},
		{"MaxConnLifetime", c.MaxConnLifetime < 0}, {"MaxConnIdleTime", c.MaxConnIdleTime < 0},
		{"ConnectTimeout", c.ConnectTimeout < 0}, {"QueryTimeout", c.QueryTimeout < 0},
		{"TCPUserTimeout", c.TCPUserTimeout < 0}, {"ReadBufferSize", c.ReadBufferSize < 0},
		{"MultiplexConns", c.MultiplexConns < 0}, {"MultiplexDepth", c.MultiplexDepth < 0},
		{"CommitResolveTimeout", c.CommitResolveTimeout < 0},
	} {
		if f.negative {
			return fmt.Errorf("Config.%s is negative: use 0 for its default", f.name)
		}
	}
	if c.ReadBufferSize > MaxReadBufferSize {
		return fmt.Errorf("Config.ReadBufferSize (%d) is more than MaxReadBufferSize (%d)", c.ReadBufferSize, MaxReadBufferSize)
	}
	if c.MaxConns > 0 && c.MinConns > c.MaxConns {
		return fmt.Errorf("Config.MinConns (%d) is more than Config.MaxConns (%d)", c.MinConns, c.MaxConns)
	}
	return nil
}

// Pooler is what sits between the pool and the server; see Config.Pooler.
type Pooler int

// The poolers.
const (
	// PoolerNone: a direct connection, or a pooler in session mode.
	PoolerNone Pooler = iota
	// PoolerTransaction: a pooler in transaction mode (PgBouncer
	// pool_mode=transaction, Supavisor's transaction pooler). Session
	// features do not work behind it: session SET, temporary tables,
	// session advisory locks, LISTEN.
	PoolerTransaction
)

// poolerSafeParam reports a startup parameter PgBouncer tracks per
// client, which may therefore stay in the connection string behind it.
func poolerSafeParam(name string) bool {
	switch strings.ToLower(name) {
	case "application_name", "client_encoding", "datestyle", "timezone", "standard_conforming_strings":
		return true
	}
	return false
}

// Default values applied by Open where neither Config nor the connection
// string sets one.
const (
	DefaultConnectTimeout = 5 * time.Second
	DefaultAcquireTimeout = 5 * time.Second
	DefaultReadBufferSize = 32 << 10 // bytes
)

// MaxReadBufferSize is the largest Config.ReadBufferSize Open accepts. The
// buffer is allocated whole for every connection when it connects, used or
// not, and counts whole in the Go heap; one read of a socket returns at
// most what its receive buffer holds (Linux's tcp_rmem maximum: 6 MiB by
// default), so a larger buffer is never filled, and one larger than the
// machine's memory ends the process (the runtime's out of memory is not a
// panic) in the pool's connect, not with an error from Open.
const MaxReadBufferSize = 16 << 20 // bytes

// DefaultApplicationName is the application_name Open sets when neither
// Config nor the connection string names one: the running program's file
// name (os.Args[0] without its directory), or "pgkit" when that is empty.
func DefaultApplicationName() string {
	if len(os.Args) > 0 {
		if name := filepath.Base(os.Args[0]); name != "" && name != "." && name != string(filepath.Separator) {
			return name
		}
	}
	return "pgkit"
}

// ParseConfig turns dsn and cfg into a pgxpool.Config, for callers who want
// to adjust more than Config offers before pgxpool.NewWithConfig. Errors
// never contain the password. pgkit's own keys, pgbouncer (Config.Pooler)
// and pgkit_multiplex (Config.Multiplex; multiplexing needs Open), are
// removed; each takes true, on, yes or 1, or false, off, no or 0 (any
// case), and any other value is an error naming the key. Config.AfterConnect
// is the returned AfterConnect: wrap it rather than replace it. The
// connections cancel statements as Gather and Pipeline need (their
// BuildContextWatcherHandler): keep it when adjusting the config. For a
// connection string meant for the primary, the returned PrepareConn and
// ShouldPing keep the pool off servers of the wrong role (see Config);
// the 25006 rule and the reconnect pacing need Open.
func ParseConfig(dsn string, cfg Config) (*pgxpool.Config, error) {
	pcfg, _, err := parseConfig(dsn, cfg)
	if err != nil {
		return nil, err
	}
	guardRole(pcfg)
	return pcfg, nil
}

// parseConfig is ParseConfig, also reporting whether to multiplex
// (Config.Multiplex, or pgkit_multiplex=true in dsn, which is removed).
func parseConfig(dsn string, cfg Config) (*pgxpool.Config, bool, error) {
	if strings.TrimSpace(dsn) == "" {
		return nil, false, errors.New("open pool: empty connection string: set DATABASE_URL, e.g. postgres://user@localhost:5432/shop")
	}
	if err := cfg.validate(); err != nil {
		return nil, false, fmt.Errorf("open pool: %w", err)
	}
	if err := repeatedKeys(dsn); err != nil {
		return nil, false, fmt.Errorf("open pool: invalid connection string: %w", err)
	}
	pcfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, false, fmt.Errorf("open pool: invalid connection string: %w", scrubSecret(err, dsn))
	}
	multiplexKey, err := takeMultiplexKey(pcfg.ConnConfig)
	if err != nil {
		return nil, false, fmt.Errorf("open pool: %w", scrubSecret(err, dsn))
	}
	multiplex := multiplexKey || cfg.Multiplex
	if cfg.MaxConns > 0 {
		pcfg.MaxConns = cfg.MaxConns
	}
	if cfg.MinConns > 0 {
		pcfg.MinConns = cfg.MinConns
	}
	if cfg.MaxConnLifetime > 0 {
		pcfg.MaxConnLifetime = cfg.MaxConnLifetime
	}
	if cfg.MaxConnIdleTime > 0 {
		pcfg.MaxConnIdleTime = cfg.MaxConnIdleTime
	}
	cc := pcfg.ConnConfig
	if f := readBuffered(cfg.ReadBufferSize); f != nil {
		cc.BuildFrontend = f
	}
	switch {
	case cfg.ConnectTimeout > 0:
		cc.ConnectTimeout = cfg.ConnectTimeout
	case cc.ConnectTimeout == 0:
		cc.ConnectTimeout = DefaultConnectTimeout
	}
	if _, set := cc.RuntimeParams["application_name"]; cfg.ApplicationName != "" || !set {
		name := cfg.ApplicationName
		if name == "" {
			name = DefaultApplicationName()
		}
		cc.RuntimeParams["application_name"] = name
	}
	if cfg.Tracer != nil {
		cc.Tracer = cfg.Tracer
	}
	pcfg.ShouldPing = shouldPing
	cc.BuildContextWatcherHandler = buildCancelWatcher // Gather's and Pipeline's siblings keep their connections
	cc.OnNotice = markWarnings(cc.OnNotice)            // a COMMIT that succeeded with a warning is looked up (syncwarn.go)
	if cfg.AfterConnect != nil {
		pcfg.AfterConnect = chainAfterConnect(pcfg.AfterConnect, cfg.AfterConnect, dsn)
	}
	if cfg.TCPUserTimeout > 0 {
		d := &net.Dialer{Timeout: cc.ConnectTimeout, KeepAlive: 15 * time.Second, Control: userTimeoutControl(cfg.TCPUserTimeout)}
		cc.DialFunc = d.DialContext
	}
	if err := configurePooler(cc, cfg.Pooler); err != nil {
		return nil, false, fmt.Errorf("open pool: %w", scrubSecret(err, dsn))
	}
	return pcfg, multiplex, nil
}

// chainAfterConnect runs pgkit's own AfterConnect (own, nil when there is
// none), then the caller's (Config.AfterConnect), whose error it wraps
// with the password removed (of dsn, or the connection's, which may come
// from PGPASSWORD or a password file): it may show wherever a query needed
// a new connection, not only in Open's error.
func chainAfterConnect(own, user func(context.Context, *pgx.Conn) error, dsn string) func(context.Context, *pgx.Conn) error {
	return func(ctx context.Context, conn *pgx.Conn) error {
		if own != nil {
			if err := own(ctx, conn); err != nil {
				return err
			}
		}
		err := user(ctx, conn)
		if err == nil {
			return nil
		}
		err = scrubSecret(err, dsn)
		if pw := conn.Config().Password; pw != "" && strings.Contains(err.Error(), pw) {
			err = &redactedError{msg: strings.ReplaceAll(err.Error(), pw, "xxxxx"), err: err}
		}
		return fmt.Errorf("pgkit: Config.AfterConnect: %w", err)
	}
}
