package migrate_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/migrate"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
	"github.com/shopdb/shopdb/schema"
)

func connect(t *testing.T, ctx context.Context, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func execSQL(t *testing.T, ctx context.Context, conn *pgx.Conn, sql string) {
	t.Helper()
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatal(err)
	}
}

// TestCheckNamesBothVersions: Check passes on a current schema and names
// the database's and the binary's versions when the schema is older, newer,
// or was never migrated; rollbacks recorded the legacy way count as not
// applied.
func TestCheckNamesBothVersions(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	latest := latestVersion(t)

	current := connect(t, ctx, pgkittest.URL(t, schema.FS()))
	if err := migrate.Check(ctx, current); err != nil {
		t.Fatalf("current schema: %v", err)
	}

	empty := connect(t, ctx, pgkittest.EmptyURL(t))
	var ve *migrate.VersionError
	err := migrate.Check(ctx, empty)
	if !errors.As(err, &ve) || ve.Database != 0 || ve.Binary != latest || ve.Newer() || len(ve.Pending) != int(latest) ||
		!strings.Contains(err.Error(), "version 0, older than this binary's version 5") {
		t.Fatalf("never migrated: %v", err)
	}

	// Version 5 rolled back by goose's legacy API: a row with is_applied false.
	older := connect(t, ctx, pgkittest.URL(t, schema.FS()))
	execSQL(t, ctx, older, "INSERT INTO goose_db_version (version_id, is_applied) VALUES (5, false)")
	err = migrate.Check(ctx, older)
	if !errors.As(err, &ve) || ve.Database != 4 || ve.Newer() ||
		!strings.Contains(err.Error(), "version 4, older than this binary's version 5 (not applied: 00005_users_last_name_idx.sql)") ||
		!strings.Contains(err.Error(), "migrate up") {
		t.Fatalf("older: %v", err)
	}

	newer := connect(t, ctx, pgkittest.URL(t, schema.FS()))
	execSQL(t, ctx, newer, "INSERT INTO goose_db_version (version_id, is_applied) VALUES (99999, true)")
	err = migrate.Check(ctx, newer)
	if !errors.As(err, &ve) || ve.Database != 99999 || !ve.Newer() || len(ve.Unknown) != 1 || ve.Unknown[0].AppliedAt.IsZero() ||
		!strings.Contains(err.Error(), "version 99999, newer than this binary's version 5 (applied there, unknown here: 99999)") {
		t.Fatalf("newer: %v", err)
	}
}

// newerDatabase returns a Migrator on a fresh migrated database that also
// has version 99999 applied: newer than the binary.
func newerDatabase(t *testing.T, ctx context.Context) *migrate.Migrator {
	t.Helper()
	dsn := pgkittest.URL(t, schema.FS())
	execSQL(t, ctx, connect(t, ctx, dsn), "INSERT INTO goose_db_version (version_id, is_applied) VALUES (99999, true)")
	m, err := migrate.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// TestUpRefusesANewerDatabase: Up applies nothing to a database with a
// version the binary does not know, and says so; State lists it.
func TestUpRefusesANewerDatabase(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	m := newerDatabase(t, ctx)
	res, err := m.Up(ctx)
	var ve *migrate.VersionError
	if len(res) != 0 || !errors.As(err, &ve) || !ve.Newer() || !strings.HasPrefix(err.Error(), "migrate up: the database schema is at version 99999") {
		t.Fatalf("up on a newer database: %d applied, %v", len(res), err)
	}
	s, err := m.State(ctx)
	if err != nil || len(s.Unknown) != 1 || s.Unknown[0].Version != 99999 || len(s.Pending) != 0 || s.BinaryVersion() != latestVersion(t) {
		t.Fatalf("state: %+v, %v", s, err)
	}
}

// TestDownRefusesANewerDatabase: Down and DownTo roll nothing back on a
// database whose latest version the binary does not know (goose alone
// says only "version not found"), and name both versions, as Up does.
func TestDownRefusesANewerDatabase(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	m := newerDatabase(t, ctx)
	_, err := m.Down(ctx)
	var ve *migrate.VersionError
	if !errors.As(err, &ve) || !strings.HasPrefix(err.Error(), "migrate down: the database schema is at version 99999, newer than this binary's version 5") {
		t.Errorf("down on a newer database: %v", err)
	}
	res, err := m.DownTo(ctx, 4)
	if len(res) != 0 || !errors.As(err, &ve) || !strings.HasPrefix(err.Error(), "migrate down-to: the database schema is at version 99999, newer than this binary's version 5") {
		t.Errorf("down-to 4 on a newer database: %d rolled back, %v", len(res), err)
	}
	s, err := m.State(ctx)
	if err != nil || len(s.Pending) != 0 || len(s.Unknown) != 1 {
		t.Fatalf("after the refusals: %+v, %v; want nothing rolled back", s, err)
	}
}
