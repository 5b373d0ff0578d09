package migrate_test

import (
	"context"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/migrate"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
	"github.com/shopdb/shopdb/schema"
)

func TestMain(m *testing.M) {
	// Re-run as the migrate process a test kills (TestKilledMigrateLetsGo).
	if dsn := os.Getenv(helperEnv); dsn != "" {
		m, err := migrate.OpenFS(context.Background(), dsn, alterUsers(), migrate.Options{LockTimeout: time.Minute})
		if err == nil {
			_, err = m.Up(context.Background())
		}
		if err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(pgkittest.Run(m))
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// snapshot describes the public schema: columns, constraints, indexes and
// types, one line each, sorted, without goose's own table.
func snapshot(t *testing.T, ctx context.Context, dsn string) string {
	t.Helper()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var s string
	err = conn.QueryRow(ctx, `
SELECT coalesce(string_agg(line, E'\n' ORDER BY line), '') FROM (
	SELECT format('column %s.%s %s null=%s default=%s identity=%s', table_name, column_name, udt_name,
		is_nullable, column_default, identity_generation) AS line
	FROM information_schema.columns
	WHERE table_schema = 'public' AND table_name <> 'goose_db_version'
	UNION ALL
	SELECT format('constraint %s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid))
	FROM pg_constraint
	WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text <> 'goose_db_version'
	UNION ALL
	SELECT format('index %s', indexdef) FROM pg_indexes
	WHERE schemaname = 'public' AND tablename <> 'goose_db_version'
	UNION ALL
	SELECT format('type %s %s', t.typname, t.typtype) FROM pg_type t
	WHERE t.typnamespace = 'public'::regnamespace AND t.typtype IN ('e', 'd')
) lines`).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// schemaCopy returns the embedded migrations as a MapFS that a test can add to.
func schemaCopy(t *testing.T) fstest.MapFS {
	t.Helper()
	fsys := fstest.MapFS{}
	err := fs.WalkDir(schema.FS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(schema.FS(), path)
		fsys[path] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return fsys
}

func TestUpDownUpGivesTheSameSchema(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	dsn := pgkittest.EmptyURL(t)
	m, err := migrate.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()

	if v, err := m.Version(ctx); err != nil || v != 0 {
		t.Fatalf("version of an empty database = %d, %v; want 0", v, err)
	}
	applied, err := m.Up(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sources := m.Provider().ListSources()
	if len(applied) != len(sources) || len(sources) < 4 {
		t.Fatalf("applied %d of %d migrations", len(applied), len(sources))
	}
	first := snapshot(t, ctx, dsn)
	for _, want := range []string{"column users.user_id int8", "constraint users users_pkey PRIMARY KEY (user_id)", "type order_status e", "CREATE UNIQUE INDEX users_email_lower_key"} {
		if !strings.Contains(first, want) {
			t.Fatalf("schema after up lacks %q:\n%s", want, first)
		}
	}

	if _, err := m.DownTo(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if empty := snapshot(t, ctx, dsn); empty != "" {
		t.Fatalf("schema after down to 0 is not empty:\n%s", empty)
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if again := snapshot(t, ctx, dsn); again != first {
		t.Fatalf("schema after up, down, up differs:\nfirst:\n%s\nagain:\n%s", first, again)
	}

	// One step down removes exactly the newest migration.
	res, err := m.Down(ctx)
	if err != nil {
		t.Fatal(err)
	}
	last := sources[len(sources)-1]
	if res.Source.Version != last.Version {
		t.Fatalf("Down rolled back version %d, want %d", res.Source.Version, last.Version)
	}
	if v, _ := m.Version(ctx); v != sources[len(sources)-2].Version {
		t.Fatalf("version after one Down = %d, want %d", v, sources[len(sources)-2].Version)
	}
	status, err := m.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(status) != len(sources) || status[len(status)-1].State != "pending" || status[0].State != "applied" {
		t.Fatalf("status after one Down: first %s, last %s", status[0].State, status[len(status)-1].State)
	}
}

func TestFailedMigrationLeavesNoPartialSchema(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	dsn := pgkittest.EmptyURL(t)

	// The real migrations plus one that creates a table, then fails.
	fsys := schemaCopy(t)
	fsys["00099_broken.sql"] = &fstest.MapFile{Data: []byte(`-- +goose Up
CREATE TABLE half_done (id bigint);
ALTER TABLE users ADD COLUMN nickname text;
SELECT no_such_function();

-- +goose Down
DROP TABLE half_done;
`)}

	m, err := migrate.OpenFS(ctx, dsn, fsys, migrate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	_, err = m.Up(ctx)
	if err == nil {
		t.Fatal("Up with a broken migration succeeded")
	}
	if !strings.Contains(err.Error(), "00099_broken.sql") || !strings.Contains(err.Error(), "no_such_function") {
		t.Fatalf("error %q does not name the failing file and cause", err)
	}
	// The migrations before it stay applied; nothing of the broken one does.
	if v, _ := m.Version(ctx); v != latestVersion(t) {
		t.Fatalf("version after the failure = %d, want %d", v, latestVersion(t))
	}
	after := snapshot(t, ctx, dsn)
	if strings.Contains(after, "half_done") || strings.Contains(after, "nickname") {
		t.Fatalf("the failed migration left part of its changes:\n%s", after)
	}
}

func TestConcurrentUpAppliesEachVersionOnce(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	dsn := pgkittest.EmptyURL(t)

	// The real migrations plus a slow one, so that the deploys overlap.
	fsys := schemaCopy(t)
	fsys["00050_slow.sql"] = &fstest.MapFile{Data: []byte(`-- +goose Up
SELECT pg_sleep(0.3);
CREATE TABLE slow_marker (id int);
-- +goose Down
DROP TABLE slow_marker;
`)}
	const deploys = 6
	migrators := make([]*migrate.Migrator, deploys)
	for i := range migrators {
		m, err := migrate.OpenFS(ctx, dsn, fsys, migrate.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		migrators[i] = m
	}
	// goose's version table exists before the race, as it does on every
	// deploy but the first; else goose's own retry (1s) spaces the runners out.
	if _, err := migrators[0].Version(ctx); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, deploys)
	applied := make([]int, deploys)
	for i, m := range migrators {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			res, err := m.Up(ctx)
			errs[i], applied[i] = err, len(res)
		}()
	}
	close(start)
	wg.Wait()
	total := 0
	for i := range deploys {
		if errs[i] != nil {
			t.Fatalf("a concurrent Up failed: %v", errs[i])
		}
		total += applied[i]
	}

	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT version_id, count(*) FROM goose_db_version WHERE version_id > 0 GROUP BY version_id ORDER BY version_id`)
	if err != nil {
		t.Fatal(err)
	}
	type versionCount struct{ Version, Count int64 }
	counts, err := pgx.CollectRows(rows, pgx.RowToStructByPos[versionCount])
	if err != nil {
		t.Fatal(err)
	}
	if want := int(latestVersion(t)) + 1; len(counts) != want || total != want {
		t.Fatalf("versions recorded %v, migrations applied by all deploys together %d; want %d versions, %d applications", counts, total, want, want)
	}
	for _, c := range counts {
		if c.Count != 1 {
			t.Fatalf("version %d recorded %d times, want once", c.Version, c.Count)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	_, err := migrate.Open(ctx, "postgres://deploy:hunter22@localhost:bad/shop")
	if err == nil || strings.Contains(err.Error(), "hunter22") || !strings.Contains(err.Error(), "invalid connection string") {
		t.Fatalf("malformed URL: error = %v, want a clear error without the password", err)
	}
}

// latestVersion is the version of the newest embedded migration.
func latestVersion(t *testing.T) int64 {
	t.Helper()
	files, err := fs.Glob(schema.FS(), "*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migrations: %v %v", files, err)
	}
	v, err := strconv.ParseInt(strings.SplitN(files[len(files)-1], "_", 2)[0], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
