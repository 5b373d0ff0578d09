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

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/schema"
)

// Migrator applies migrations to one database. Close it when done.
type Migrator struct {
	sqlDB    *sql.DB
	provider *goose.Provider
}

// Open connects to dsn (a postgres:// URL or key=value string) and prepares
// the migrations embedded from schema/.
func Open(ctx context.Context, dsn string) (*Migrator, error) {
	return OpenFS(ctx, dsn, schema.FS())
}

// OpenFS is Open with the migrations read from fsys instead of the embedded
// schema: goose files named NNNNN_name.sql at its root.
func OpenFS(ctx context.Context, dsn string, fsys fs.FS) (*Migrator, error) {
	pcfg, err := pgkit.ParseConfig(dsn, pgkit.Config{})
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	sqlDB := stdlib.OpenDB(*pcfg.ConnConfig)
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("migrate: connect: %w", err)
	}
	p, err := NewProvider(sqlDB, fsys)
	if err != nil {
		sqlDB.Close()
		return nil, err
	}
	return &Migrator{sqlDB: sqlDB, provider: p}, nil
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
// the error names its file.
func (m *Migrator) Up(ctx context.Context) ([]*goose.MigrationResult, error) {
	res, err := m.provider.Up(ctx)
	return res, describe("up", err)
}

// Down rolls back the most recently applied migration.
func (m *Migrator) Down(ctx context.Context) (*goose.MigrationResult, error) {
	res, err := m.provider.Down(ctx)
	return res, describe("down", err)
}

// DownTo rolls back migrations until version is the latest applied; 0 rolls
// back all of them.
func (m *Migrator) DownTo(ctx context.Context, version int64) ([]*goose.MigrationResult, error) {
	res, err := m.provider.DownTo(ctx, version)
	return res, describe("down-to", err)
}

// Status lists every migration with whether and when it was applied.
func (m *Migrator) Status(ctx context.Context) ([]*goose.MigrationStatus, error) {
	res, err := m.provider.Status(ctx)
	return res, describe("status", err)
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

// Up applies every pending embedded migration to the database at dsn: the
// one call an application or test needs at start-up.
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
