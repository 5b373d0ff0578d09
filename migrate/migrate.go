// Package migrate applies shopdb's schema migrations, embedded in the binary,
// with goose's Provider API. A PostgreSQL session-level advisory lock makes
// concurrent runs safe: when two deploys start at once, one waits and each
// migration is applied exactly once.
package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/schema"
)

// Migrator applies migrations to one database. Close it when done.
type Migrator struct {
	sqlDB    *sql.DB
	provider *goose.Provider
	fsys     fs.FS
	opts     Options
}

// Options keep migrations from stalling a live database. The zero value
// takes the defaults below.
type Options struct {
	// LockTimeout bounds how long a migration statement waits for a table
	// lock (PostgreSQL's lock_timeout). While an ALTER TABLE waits, every
	// new query of that table queues behind it: a migration that waits
	// long for a busy table blocks the application for as long. Past the
	// timeout the migration is rolled back and retried. Default: 3s.
	LockTimeout time.Duration
	// StatementTimeout bounds each migration statement (statement_timeout).
	// Default: 10m; negative: none.
	StatementTimeout time.Duration
	// Attempts is how many times Up runs when a migration fails on its lock
	// timeout, waiting RetryBackoff, then twice that, between attempts.
	// Default: 5 attempts, 1s backoff.
	Attempts     int
	RetryBackoff time.Duration
	// OnRetry, when set, is told of each retry: for logs. attempt is the
	// one that failed (1 for the first); the next starts after
	// RetryBackoff << (attempt-1).
	OnRetry func(attempt int, err error)
	// SessionPooler says the connection string reaches PostgreSQL through
	// a pooler in session mode: the settings above are then SET on each
	// connection instead of sent as startup parameters, which PgBouncer
	// refuses ("unsupported startup parameter"). Leave it off otherwise:
	// a transaction-mode pooler that nothing names in the connection
	// string is then caught by that refusal instead of letting the
	// settings and the advisory lock go to other clients' sessions.
	SessionPooler bool
}

// Defaults of Options.
const (
	DefaultLockTimeout      = 3 * time.Second
	DefaultStatementTimeout = 10 * time.Minute
	DefaultAttempts         = 5
	DefaultRetryBackoff     = time.Second
)

func (o Options) withDefaults() Options {
	if o.LockTimeout <= 0 {
		o.LockTimeout = DefaultLockTimeout
	}
	if o.StatementTimeout == 0 {
		o.StatementTimeout = DefaultStatementTimeout
	}
	if o.Attempts <= 0 {
		o.Attempts = DefaultAttempts
	}
	if o.RetryBackoff <= 0 {
		o.RetryBackoff = DefaultRetryBackoff
	}
	return o
}

// Open connects to dsn (a postgres:// URL or key=value string) and prepares
// the migrations embedded from schema/, with the default Options.
func Open(ctx context.Context, dsn string) (*Migrator, error) {
	return OpenFS(ctx, dsn, schema.FS(), Options{})
}

// OpenFS is Open with the migrations read from fsys instead of the embedded
// schema (goose files named NNNNN_name.sql at its root) and with opts.
//
// Every session of the migrator runs with lock_timeout and
// statement_timeout as opts say, and with client_connection_check_interval
// (1s) and idle_in_transaction_session_timeout (a minute): when the
// migrating process dies (SIGKILL, a lost deploy host), its server session
// notices within a second, or at the latest at the lock timeout, and gives
// back every lock it held, instead of blocking the tables until TCP gives
// up. (client_connection_check_interval needs PostgreSQL 14 or later.)
func OpenFS(ctx context.Context, dsn string, fsys fs.FS, opts Options) (*Migrator, error) {
	opts = opts.withDefaults()
	pcfg, err := pgkit.ParseConfig(dsn, pgkit.Config{ApplicationName: "shopdb-migrate"})
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if transactionPooler(dsn, pcfg.ConnConfig) {
		return nil, fmt.Errorf("migrate: the connection string names a transaction pooler (pgbouncer=true, or Supabase's port 6543): %s", poolerAdvice)
	}
	settings := map[string]string{
		"lock_timeout":                        strconv.FormatInt(opts.LockTimeout.Milliseconds(), 10),
		"client_connection_check_interval":    "1000",
		"idle_in_transaction_session_timeout": "60000",
	}
	if opts.StatementTimeout > 0 {
		settings["statement_timeout"] = strconv.FormatInt(opts.StatementTimeout.Milliseconds(), 10)
	}
	var sqlDB *sql.DB
	if opts.SessionPooler {
		sqlDB = stdlib.OpenDB(*pcfg.ConnConfig, stdlib.OptionAfterConnect(setAll(settings)))
	} else {
		for k, v := range settings {
			pcfg.ConnConfig.RuntimeParams[k] = v
		}
		sqlDB = stdlib.OpenDB(*pcfg.ConnConfig)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		if strings.Contains(err.Error(), "unsupported startup parameter") {
			return nil, fmt.Errorf("migrate: connect: %w: a pooler (PgBouncer) is in front of the server: %s", err, poolerAdvice)
		}
		return nil, fmt.Errorf("migrate: connect: %w", err)
	}
	p, err := NewProvider(sqlDB, fsys)
	if err != nil {
		sqlDB.Close()
		return nil, err
	}
	return &Migrator{sqlDB: sqlDB, provider: p, fsys: fsys, opts: opts}, nil
}

// poolerAdvice is what to do when a pooler is in front of the server.
const poolerAdvice = "migrations need one server session of their own (their settings such as lock_timeout, an advisory lock, their transactions): " +
	"migrate against the PostgreSQL server directly (its own host and port, not the pooler's), " +
	"or through a pooler in session mode with -session-pooler (Options.SessionPooler)"

// transactionPooler reports whether pgkit configured cc for a transaction
// pooler (Config.Pooler from pgbouncer=true or Supabase's pooler address):
// it then describes statements instead of preparing them, which the
// connection string alone did not ask for. Asking pgkit keeps its rules
// for spotting a pooler in one place.
func transactionPooler(dsn string, cc *pgx.ConnConfig) bool {
	plain, err := pgx.ParseConfig(dsn)
	return err == nil && cc.DefaultQueryExecMode == pgx.QueryExecModeCacheDescribe &&
		plain.DefaultQueryExecMode != pgx.QueryExecModeCacheDescribe
}

// setAll SETs settings on a new connection, in one round trip.
func setAll(settings map[string]string) func(context.Context, *pgx.Conn) error {
	names := make([]string, 0, len(settings))
	for k := range settings {
		names = append(names, k)
	}
	slices.Sort(names)
	var b strings.Builder
	for _, k := range names {
		fmt.Fprintf(&b, "SET %s = %s;", k, settings[k]) // names and integer values of our own, never input
	}
	stmt := b.String()
	return func(ctx context.Context, conn *pgx.Conn) error {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("migrate: session settings: %w", err)
		}
		return nil
	}
}

// NewProvider returns a goose Provider for the migrations in fsys (use
// schema.FS() for shopdb's own) on sqlDB, holding PostgreSQL's session
// advisory lock while it migrates. Use it for what Migrator does not offer.
func NewProvider(sqlDB *sql.DB, fsys fs.FS) (*goose.Provider, error) {
	// Poll for the lock every second for up to 10 minutes: goose's default
	// polls every 5s, which makes a waiting deploy needlessly slow.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 600))
	if err != nil {
		return nil, fmt.Errorf("migrate: session locker: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, fsys,
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return p, nil
}

// Up applies every pending migration, each in its own transaction. When one
// fails, its changes are rolled back, the ones before it stay applied, and
// the error names its file. A migration that failed on its lock timeout
// (the table was busy) is tried again, up to Options.Attempts times with
// backoff.
//
// A database that has versions the binary does not know (a newer binary
// migrated it) is refused before anything runs, with a *VersionError.
func (m *Migrator) Up(ctx context.Context) ([]*goose.MigrationResult, error) {
	s, err := m.State(ctx)
	if err != nil {
		return nil, err // says "migrate: read the schema version"
	}
	if s.Newer() {
		return nil, describe("up", s.Err())
	}
	var all []*goose.MigrationResult
	backoff := m.opts.RetryBackoff
	for attempt := 1; ; attempt++ {
		res, err := m.provider.Up(ctx)
		all = append(all, res...)
		if err == nil || attempt >= m.opts.Attempts || pgerr.SQLState(err) != "55P03" {
			return all, describe("up", err)
		}
		if m.opts.OnRetry != nil {
			m.opts.OnRetry(attempt, describe("up", err))
		}
		select {
		case <-ctx.Done():
			return all, describe("up", errors.Join(err, ctx.Err()))
		case <-time.After(backoff):
		}
		backoff *= 2
	}
}

// Down rolls back the most recently applied migration. When that is a
// version the binary does not know (a newer binary migrated the database),
// nothing runs and the error is a *VersionError.
func (m *Migrator) Down(ctx context.Context) (*goose.MigrationResult, error) {
	s, err := m.State(ctx)
	if err != nil {
		return nil, err
	}
	if err := refuseUnknownAbove("down", s, s.DatabaseVersion()-1); err != nil {
		return nil, err
	}
	res, err := m.provider.Down(ctx)
	return res, describe("down", err)
}

// DownTo rolls back migrations until version is the latest applied; 0 rolls
// back all of them. When one to roll back is a version the binary does not
// know, nothing runs and the error is a *VersionError.
func (m *Migrator) DownTo(ctx context.Context, version int64) ([]*goose.MigrationResult, error) {
	s, err := m.State(ctx)
	if err != nil {
		return nil, err
	}
	if err := refuseUnknownAbove("down-to", s, version); err != nil {
		return nil, err
	}
	res, err := m.provider.DownTo(ctx, version)
	return res, describe("down-to", err)
}

// refuseUnknownAbove is the *VersionError of op when s has an applied
// version above version that the binary does not know: rolling back to
// version would need its Down, which only a newer binary carries (goose
// alone says "version not found", naming neither version).
func refuseUnknownAbove(op string, s *SchemaState, version int64) error {
	if n := len(s.Unknown); n > 0 && s.Unknown[n-1].Version > version {
		return describe(op, s.Err())
	}
	return nil
}

// Status lists every migration with whether and when it was applied.
func (m *Migrator) Status(ctx context.Context) ([]*goose.MigrationStatus, error) {
	res, err := m.provider.Status(ctx)
	return res, describe("status", err)
}

// State compares what the database has applied with the migrations of the
// Migrator; unlike Status it also lists versions the binary does not know.
func (m *Migrator) State(ctx context.Context) (*SchemaState, error) {
	known, err := knownOf(m.fsys)
	if err != nil {
		return nil, err
	}
	applied, err := appliedOn(ctx, m.sqlDB)
	if err != nil {
		return nil, err
	}
	return compare(known, applied), nil
}

// Version returns the latest applied version, 0 when none is.
func (m *Migrator) Version(ctx context.Context) (int64, error) {
	v, err := m.provider.GetDBVersion(ctx)
	return v, describe("version", err)
}

// Provider is the underlying goose Provider.
func (m *Migrator) Provider() *goose.Provider { return m.provider }

// Close closes the database connection.
func (m *Migrator) Close() error { return m.sqlDB.Close() }

// Up applies every pending embedded migration to the database at dsn, as
// its role, which must own the schema: the one call a deploy step or a
// test needs. An application running as a least-privilege role checks
// the version with Check instead.
func Up(ctx context.Context, dsn string) error {
	m, err := Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer m.Close()
	_, err = m.Up(ctx)
	return err
}

// describe names the failing migration file in err.
func describe(op string, err error) error {
	if err == nil {
		return nil
	}
	var pe *goose.PartialError
	if errors.As(err, &pe) && pe.Failed != nil {
		return fmt.Errorf("migrate %s: %s: %w", op, pe.Failed.Source.Path, pe.Err)
	}
	return fmt.Errorf("migrate %s: %w", op, err)
}
