package migrate_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/migrate"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
	"github.com/shopdb/shopdb/schema"
)

// helperEnv, when set to a connection string, makes the test binary run
// alterUsers' migrations on it instead of the tests.
const helperEnv = "SHOPDB_MIGRATE_HELPER_DSN"

// alterUsers is the real migrations plus one that needs an exclusive lock
// on users, the table the application reads all the time.
func alterUsers() fstest.MapFS {
	fsys := fstest.MapFS{}
	entries, _ := os.ReadDir("../schema")
	for _, e := range entries {
		if data, err := os.ReadFile("../schema/" + e.Name()); err == nil && len(e.Name()) > 4 && e.Name()[len(e.Name())-4:] == ".sql" {
			fsys[e.Name()] = &fstest.MapFile{Data: data}
		}
	}
	fsys["00060_users_nickname.sql"] = &fstest.MapFile{Data: []byte(`-- +goose Up
ALTER TABLE users ADD COLUMN nickname text;
-- +goose Down
ALTER TABLE users DROP COLUMN nickname;
`)}
	return fsys
}

// holdUsers opens a transaction that reads users, so holds a lock that an
// ALTER TABLE must wait for, until the returned function commits it.
func holdUsers(t *testing.T, ctx context.Context, dsn string) func() {
	t.Helper()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SELECT count(*) FROM users"); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release := func() {
		once.Do(func() {
			_ = tx.Commit(ctx)
			_ = conn.Close(ctx)
		})
	}
	t.Cleanup(release)
	return release
}

// readers reads users every 20ms until stop is closed and reports the
// slowest read.
func readers(t *testing.T, ctx context.Context, dsn string, stop <-chan struct{}) <-chan time.Duration {
	t.Helper()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	slowest := make(chan time.Duration, 1)
	go func() {
		defer conn.Close(ctx)
		var worst time.Duration
		for {
			select {
			case <-stop:
				slowest <- worst
				return
			case <-time.After(20 * time.Millisecond):
			}
			start := time.Now()
			var n int
			if err := conn.QueryRow(ctx, "SELECT count(*) FROM users").Scan(&n); err != nil {
				t.Error(err)
			}
			worst = max(worst, time.Since(start))
		}
	}()
	return slowest
}

// TestBusyTableBlocksReadersOnlyUntilTheLockTimeout: a migration that
// needs users while a 2.5s application transaction reads it gives up after
// its lock timeout, so the reads that queue behind it wait at most that
// long, and succeeds on a later attempt. (Without a lock timeout the reads
// wait for the whole application transaction: 9.1s were measured.)
func TestBusyTableBlocksReadersOnlyUntilTheLockTimeout(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	dsn := pgkittest.URL(t, schema.FS())
	release := holdUsers(t, ctx, dsn)
	time.AfterFunc(2500*time.Millisecond, release)
	stop := make(chan struct{})
	slowest := readers(t, ctx, dsn, stop)

	retries := 0
	m, err := migrate.OpenFS(ctx, dsn, alterUsers(), migrate.Options{
		LockTimeout: 400 * time.Millisecond, RetryBackoff: 200 * time.Millisecond, Attempts: 10,
		OnRetry: func(int, error) { retries++ },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	start := time.Now()
	_, err = m.Up(ctx)
	took := time.Since(start)
	close(stop)
	worst := <-slowest
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	if v, _ := m.Version(ctx); v != 60 {
		t.Fatalf("version %d after up, want 60", v)
	}
	t.Logf("up took %s with %d retries; slowest read of users %s", took.Round(time.Millisecond), retries, worst.Round(time.Millisecond))
	if retries == 0 {
		t.Fatal("the migration never hit its lock timeout: the test did not hold the table")
	}
	if worst > 900*time.Millisecond {
		t.Fatalf("a read of users waited %s behind the migration; want at most the 400ms lock timeout (and slack)", worst)
	}
}

// TestKilledMigrateLetsGo: a migrate process killed with SIGKILL while its
// ALTER TABLE waits for a busy table (with a lock timeout of a minute) is
// gone from the server within about a second, so reads are no longer
// queued behind it, and the next up applies the migration at once.
// Before, the dead session held on for 17.6s.
func TestKilledMigrateLetsGo(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	dsn := pgkittest.URL(t, schema.FS())
	release := holdUsers(t, ctx, dsn)

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+dsn)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	watch, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close(ctx)
	waiting := func() int {
		var n int
		if err := watch.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE application_name = 'shopdb-migrate' AND query LIKE 'ALTER TABLE users%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	deadline := time.Now().Add(30 * time.Second)
	for waiting() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the migrate process never reached its ALTER TABLE")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	_ = cmd.Wait()
	for waiting() > 0 {
		if time.Since(killed) > 5*time.Second {
			t.Fatal("the killed migrate's session still waits on users after 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	gone := time.Since(killed)
	// Reads go through again while the application transaction still runs.
	rctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var n int
	if err := watch.QueryRow(rctx, "SELECT count(*) FROM users").Scan(&n); err != nil {
		t.Fatalf("read of users after the kill: %v", err)
	}
	release()
	m, err := migrate.OpenFS(ctx, dsn, alterUsers(), migrate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	start := time.Now()
	if _, err := m.Up(ctx); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("next up: %v", err)
	}
	t.Logf("the killed session was gone %s after SIGKILL; the next up took %s", gone.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	if gone > 2*time.Second {
		t.Fatalf("the killed session lingered %s", gone)
	}
}
