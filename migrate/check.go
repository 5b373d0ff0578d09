package migrate

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pressly/goose/v3"

	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/schema"
)

// Known is a migration the binary carries.
type Known struct {
	Version int64
	Path    string // its file, e.g. 00005_users_last_name_idx.sql
}

// Applied is a version goose's table records as applied.
type Applied struct {
	Version   int64
	AppliedAt time.Time // zero when goose recorded none
}

// SchemaState compares the migrations a database has applied with those
// the binary carries.
type SchemaState struct {
	Known   []Known   // the binary's, ascending
	Applied []Applied // the database's, ascending, without goose's version 0
	Pending []Known   // known, not applied
	Unknown []Applied // applied, not known: a newer binary migrated the database
}

// DatabaseVersion is the highest applied version, 0 when none is.
func (s *SchemaState) DatabaseVersion() int64 {
	if len(s.Applied) == 0 {
		return 0
	}
	return s.Applied[len(s.Applied)-1].Version
}

// BinaryVersion is the highest version the binary carries.
func (s *SchemaState) BinaryVersion() int64 {
	if len(s.Known) == 0 {
		return 0
	}
	return s.Known[len(s.Known)-1].Version
}

// Newer reports whether the database has versions the binary does not know.
func (s *SchemaState) Newer() bool { return len(s.Unknown) > 0 }

// Err is nil when the database has applied exactly the binary's
// migrations, and a *VersionError otherwise.
func (s *SchemaState) Err() error {
	if len(s.Pending) == 0 && len(s.Unknown) == 0 {
		return nil
	}
	return &VersionError{Database: s.DatabaseVersion(), Binary: s.BinaryVersion(), Pending: s.Pending, Unknown: s.Unknown}
}

// VersionError says that a database's schema is not the one the binary
// was built for: older (migrations of the binary not applied) or newer
// (versions applied that the binary does not know).
type VersionError struct {
	Database, Binary int64
	Pending          []Known
	Unknown          []Applied
}

// Newer reports whether the database has versions the binary does not know.
func (e *VersionError) Newer() bool { return len(e.Unknown) > 0 }

// Error names both versions and what to do.
func (e *VersionError) Error() string {
	if e.Newer() {
		unknown := make([]string, len(e.Unknown))
		for i, a := range e.Unknown {
			unknown[i] = fmt.Sprint(a.Version)
		}
		return fmt.Sprintf("the database schema is at version %d, newer than this binary's version %d (applied there, unknown here: %s): run the binary that carries these migrations, or roll them back with it (migrate down-to %d)",
			e.Database, e.Binary, strings.Join(unknown, ", "), e.Binary)
	}
	pending := make([]string, len(e.Pending))
	for i, k := range e.Pending {
		pending[i] = k.Path
	}
	return fmt.Sprintf("the database schema is at version %d, older than this binary's version %d (not applied: %s): migrate it first, as the schema's owner: go run ./cmd/migrate up",
		e.Database, e.Binary, strings.Join(pending, ", "))
}

// Querier runs a query: *pgkit.DB, *pgx.Conn, pgx.Tx and *pgxpool.Pool are
// Queriers.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Check returns nil when the database q reaches has applied exactly the
// embedded migrations, and a *VersionError naming both versions when it
// is older or newer. It only reads goose's version table, so it works as
// the roles Grant sets up and through a transaction pooler: the check an
// application makes at start instead of migrating.
func Check(ctx context.Context, q Querier) error {
	s, err := ReadState(ctx, q)
	if err != nil {
		return err
	}
	return s.Err()
}

// ReadState reads through q what the database has applied and compares it
// with the embedded migrations (ReadStateFS for others).
func ReadState(ctx context.Context, q Querier) (*SchemaState, error) {
	return ReadStateFS(ctx, q, schema.FS())
}

// ReadStateFS is ReadState for the migrations in fsys.
func ReadStateFS(ctx context.Context, q Querier, fsys fs.FS) (*SchemaState, error) {
	known, err := knownOf(fsys)
	if err != nil {
		return nil, err
	}
	applied, err := appliedVia(ctx, q)
	if err != nil {
		return nil, err
	}
	return compare(known, applied), nil
}

// appliedSQL lists the applied versions: for each version its latest row
// (goose's legacy API records a rollback as a row with is_applied false;
// the Provider deletes the row).
const appliedSQL = `SELECT version_id, tstamp FROM (
	SELECT DISTINCT ON (version_id) version_id, is_applied, tstamp
	FROM goose_db_version ORDER BY version_id, id DESC
) v WHERE is_applied AND version_id > 0 ORDER BY version_id`

func appliedVia(ctx context.Context, q Querier) ([]Applied, error) {
	rows, err := q.Query(ctx, appliedSQL)
	if err != nil {
		return readError(err)
	}
	defer rows.Close()
	var out []Applied
	for rows.Next() {
		var a Applied
		var at *time.Time
		if err := rows.Scan(&a.Version, &at); err != nil {
			return nil, fmt.Errorf("migrate: read the schema version: %w", err)
		}
		if at != nil {
			a.AppliedAt = *at
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return readError(err)
	}
	return out, nil
}

// appliedOn is appliedVia for database/sql, which the Migrator uses.
func appliedOn(ctx context.Context, db *sql.DB) ([]Applied, error) {
	rows, err := db.QueryContext(ctx, appliedSQL)
	if err != nil {
		return readError(err)
	}
	defer rows.Close()
	var out []Applied
	for rows.Next() {
		var a Applied
		var at sql.NullTime
		if err := rows.Scan(&a.Version, &at); err != nil {
			return nil, fmt.Errorf("migrate: read the schema version: %w", err)
		}
		a.AppliedAt = at.Time
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return readError(err)
	}
	return out, nil
}

// readError: no version table is a database never migrated (version 0);
// a role that may not read it gets told how to fix that.
func readError(err error) ([]Applied, error) {
	switch pgerr.SQLState(err) {
	case "42P01": // undefined_table
		return nil, nil
	case "42501": // insufficient_privilege
		return nil, fmt.Errorf("migrate: read the schema version: %w: as the schema's owner, run `go run ./cmd/migrate grant APP_ROLE [READONLY_ROLE]` for this role (it may then read goose_db_version)", err)
	}
	return nil, fmt.Errorf("migrate: read the schema version: %w", err)
}

// knownOf lists the migrations in fsys (NNNNN_name.sql at its root), the
// files goose's Provider collects.
func knownOf(fsys fs.FS) ([]Known, error) {
	files, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("migrate: list migrations: %w", err)
	}
	known := make([]Known, 0, len(files))
	for _, f := range files {
		v, err := goose.NumericComponent(f)
		if err != nil {
			return nil, fmt.Errorf("migrate: %s: %w", f, err)
		}
		known = append(known, Known{Version: v, Path: f})
	}
	slices.SortFunc(known, func(a, b Known) int { return cmp.Compare(a.Version, b.Version) })
	return known, nil
}

func compare(known []Known, applied []Applied) *SchemaState {
	s := &SchemaState{Known: known, Applied: applied}
	isApplied := make(map[int64]bool, len(applied))
	for _, a := range applied {
		isApplied[a.Version] = true
	}
	isKnown := make(map[int64]bool, len(known))
	for _, k := range known {
		isKnown[k.Version] = true
		if !isApplied[k.Version] {
			s.Pending = append(s.Pending, k)
		}
	}
	for _, a := range applied {
		if !isKnown[a.Version] {
			s.Unknown = append(s.Unknown, a)
		}
	}
	return s
}
