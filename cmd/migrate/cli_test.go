package main

import (
	"context"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/internal/clitest"
	"github.com/shopdb/shopdb/internal/testroles"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
	"github.com/shopdb/shopdb/pgkit/pgtemp"
	"github.com/shopdb/shopdb/schema"
)

// mainEnv, set to 1, makes the test binary run the command's main instead
// of the tests, so that tests see its real exit code, stdout and stderr.
const mainEnv = "SHOPDB_TEST_RUN_MIGRATE_MAIN"

// command is `migrate args…` with DATABASE_URL=dsn (unset when dsn is
// empty), not yet started.
func command(t *testing.T, ctx context.Context, dsn string, args ...string) (*exec.Cmd, *clitest.Buffer, *clitest.Buffer) {
	t.Helper()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	env := []string{mainEnv + "=1"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DATABASE_URL=") {
			env = append(env, kv)
		}
	}
	if dsn != "" {
		env = append(env, "DATABASE_URL="+dsn)
	}
	cmd.Env = env
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr clitest.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	return cmd, &stdout, &stderr
}

// runMigrate runs `migrate args…` and returns its exit code and output.
func runMigrate(t *testing.T, dsn string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd, stdout, stderr := command(t, ctx, dsn, args...)
	return exitCode(t, cmd.Run()), stdout.String(), stderr.String()
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitCode()
	}
	t.Fatalf("run migrate: %v", err)
	return -1
}

// oneLine fails the test unless s is exactly one line.
func oneLine(t *testing.T, what, s string) {
	t.Helper()
	if strings.Count(s, "\n") != 1 || !strings.HasSuffix(s, "\n") {
		t.Errorf("%s: want one line on stderr, got %q", what, s)
	}
}

func TestHelpAndUsageErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"-h"}, {"--help"}, {"-help"}, {"help"}} {
		code, stdout, stderr := runMigrate(t, "postgres://nobody@127.0.0.1:1/none", args...)
		if code != 0 || !strings.Contains(stdout, "usage: migrate") || stderr != "" {
			t.Errorf("migrate %v: exit %d, stdout %q, stderr %q; want usage on stdout, exit 0", args, code, stdout, stderr)
		}
	}
	for _, tc := range []struct {
		args []string
		dsn  string
		want string
	}{
		{nil, "postgres://x", "no command"},
		{[]string{"sideways"}, "postgres://x", `"sideways"`},
		{[]string{"down-to"}, "postgres://x", "down-to"},
		{[]string{"down-to", "-3"}, "postgres://x", `"-3"`},
		{[]string{"down-to", "three"}, "postgres://x", `"three"`},
		{[]string{"up", "now"}, "postgres://x", `"now"`},
		{[]string{"grant"}, "postgres://x", "APP_ROLE"},
		{[]string{"-bogus", "up"}, "postgres://x", "-bogus"},
		{[]string{"up"}, "", "DATABASE_URL"},
	} {
		code, stdout, stderr := runMigrate(t, tc.dsn, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) || stdout != "" {
			t.Errorf("migrate %v: exit %d, stdout %q, stderr %q; want exit 2 and a line naming %s", tc.args, code, stdout, stderr, tc.want)
		}
		oneLine(t, strings.Join(tc.args, " "), stderr)
	}
}

// TestErrorsHaveOnePrefix: an error is one line that says "migrate" once,
// without the password.
func TestErrorsHaveOnePrefix(t *testing.T) {
	t.Parallel()
	code, _, stderr := runMigrate(t, "postgres://ops:pa55word@localhost:nope/shop", "up")
	if code != 1 || !strings.Contains(stderr, "invalid connection string") || strings.Contains(stderr, "pa55word") {
		t.Fatalf("exit %d, stderr %q; want exit 1 naming the connection string, without the password", code, stderr)
	}
	if strings.Count(stderr, "migrate") != 1 || !strings.HasPrefix(stderr, "migrate") {
		t.Errorf("stderr %q: want one prefix", stderr)
	}
	oneLine(t, "bad DSN", stderr)

	// pgx's error for a server it cannot reach has a line per address.
	code, _, stderr = runMigrate(t, "postgres://nobody@127.0.0.1:1/none", "status")
	if code != 1 || !strings.Contains(stderr, "connection refused") || strings.Contains(stderr, ":;") {
		t.Errorf("unreachable server: exit %d, stderr %q", code, stderr)
	}
	oneLine(t, "unreachable server", stderr)
}

// TestStatusColumnsAligned: the state column starts at the same place on
// every line, however long a file name is.
func TestStatusColumnsAligned(t *testing.T) {
	t.Parallel()
	dsn := pgkittest.EmptyURL(t)
	for _, args := range [][]string{{"up"}, {"down"}} {
		if code, _, stderr := runMigrate(t, dsn, args...); code != 0 {
			t.Fatalf("migrate %v: exit %d %s", args, code, stderr)
		}
	}
	code, stdout, stderr := runMigrate(t, dsn, "status")
	if code != 0 {
		t.Fatalf("status: exit %d %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	col := -1
	for _, l := range lines {
		i := strings.Index(l, "applied")
		if j := strings.Index(l, "pending"); i < 0 || (j >= 0 && j < i) {
			i = j
		}
		if i < 0 {
			continue
		}
		if col >= 0 && i != col {
			t.Fatalf("state column misaligned (%d vs %d):\n%s", i, col, stdout)
		}
		col = i
	}
	if col < 0 || !strings.Contains(stdout, "00005_users_last_name_idx.sql") || !strings.Contains(stdout, "pending") {
		t.Fatalf("status:\n%s", stdout)
	}
}

func TestGrantPrintsPlainLines(t *testing.T) {
	t.Parallel()
	dsn := pgkittest.URL(t, schema.FS())
	roles := testroles.Create(t, dsn, "cli_app", "cli_ro")
	app, ro := roles[0].Name, roles[1].Name
	code, stdout, stderr := runMigrate(t, dsn, "grant", app, ro)
	if code != 0 {
		t.Fatalf("grant: exit %d %s", code, stderr)
	}
	if strings.ContainsAny(stdout, "{}") || strings.Contains(stdout, "App:") {
		t.Errorf("grant printed a Go value:\n%s", stdout)
	}
	var sawApp, sawRO bool
	for _, l := range strings.Split(stdout, "\n") {
		sawApp = sawApp || strings.HasPrefix(l, app+": ")
		sawRO = sawRO || strings.HasPrefix(l, ro+": ")
	}
	if !sawApp || !sawRO {
		t.Errorf("want a line per role, starting with its name:\n%s", stdout)
	}
}

// TestNewerDatabaseIsNamed: a database a newer binary migrated (version
// 99999 applied) is refused by up, down and down-to and shown by status,
// naming both versions.
func TestNewerDatabaseIsNamed(t *testing.T) {
	t.Parallel()
	dsn := pgkittest.URL(t, schema.FS())
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), "INSERT INTO goose_db_version (version_id, is_applied) VALUES (99999, true)"); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runMigrate(t, dsn, "up")
	if code != 1 || !strings.Contains(stderr, "99999") || !strings.Contains(stderr, "version 5") || !strings.Contains(stderr, "newer") {
		t.Errorf("up on a newer database: exit %d, stdout %q, stderr %q; want exit 1 naming 99999 and 5", code, stdout, stderr)
	}
	for _, args := range [][]string{{"down"}, {"down-to", "4"}} {
		code, stdout, stderr := runMigrate(t, dsn, args...)
		if code != 1 || !strings.Contains(stderr, "version 99999, newer than this binary's version 5") || stdout != "" {
			t.Errorf("%v on a newer database: exit %d, stdout %q, stderr %q; want exit 1 naming 99999 and 5", args, code, stdout, stderr)
		}
	}
	code, stdout, stderr = runMigrate(t, dsn, "status")
	if code != 0 || !strings.Contains(stdout, "99999") || !strings.Contains(stdout, "unknown") {
		t.Errorf("status on a newer database: exit %d, stdout %q, stderr %q; want 99999 listed as unknown to this binary", code, stdout, stderr)
	}
}

// TestRetriesArePrinted: while a migration waits for a busy table, each
// retry is a line on stderr, and the migration goes through once the table
// is free.
func TestRetriesArePrinted(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dsn := pgkittest.EmptyURL(t)
	if code, _, stderr := runMigrate(t, dsn, "up"); code != 0 {
		t.Fatalf("up: exit %d %s", code, stderr)
	}
	if code, _, stderr := runMigrate(t, dsn, "down-to", "3"); code != 0 {
		t.Fatalf("down-to 3: exit %d %s", code, stderr)
	}
	// 00004_orders.sql adds a foreign key to users: it needs a lock that an
	// open transaction which wrote to users holds.
	holder, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(context.Background())
	tx, err := holder.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, "INSERT INTO users (first_name, last_name) VALUES ('busy', 'table')"); err != nil {
		t.Fatal(err)
	}
	cmd, stdout, stderr := command(t, ctx, dsn, "up")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var ended error
	sawRetry := false
wait:
	for {
		select {
		case ended = <-done:
			break wait
		case <-time.After(50 * time.Millisecond):
			if !sawRetry && strings.Contains(stderr.String(), "retry") {
				sawRetry = true
				_ = tx.Rollback(ctx)
			}
		}
	}
	code := exitCode(t, ended)
	t.Logf("stderr:\n%s", stderr)
	if !sawRetry {
		t.Fatalf("no retry line while the table was busy: exit %d, stderr %q", code, stderr)
	}
	if code != 0 || !strings.Contains(stdout.String(), "applied 00004_orders.sql") {
		t.Fatalf("after the table was freed: exit %d, stdout %q", code, stdout)
	}
	for _, want := range []string{"00004_orders.sql", "lock timeout", "attempt 1 of 5"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("retry line lacks %q: %q", want, stderr)
		}
	}
}

// TestTransactionPoolerRefusedWithAdvice: through PgBouncer in transaction
// mode migrate cannot work (its settings, its advisory lock and its
// transactions need one session): the connection string that says so, and
// the pooler's own refusal, both get advice. Through a session-mode pooler,
// -session-pooler migrates.
func TestTransactionPoolerRefusedWithAdvice(t *testing.T) {
	if _, err := os.Stat(pgtemp.BouncerBin); err != nil {
		t.Skip("pgbouncer is not installed: apt-get install -y pgbouncer (make test does it when run as root)")
	}
	t.Parallel()
	ctx := context.Background()
	dsn := pgkittest.EmptyURL(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	user := u.User.Username()
	tb, err := pgtemp.StartBouncer(ctx, dsn, "transaction", user)
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Stop()
	through := tb.URL(dsn)
	sep := "?"
	if strings.Contains(through, "?") {
		sep = "&"
	}
	for _, tc := range []struct{ name, dsn, want string }{
		{"undeclared", through, "unsupported startup parameter"},
		{"pgbouncer=true", through + sep + "pgbouncer=true", "transaction pooler"},
	} {
		code, _, stderr := runMigrate(t, tc.dsn, "up")
		if code != 1 || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "the PostgreSQL server directly") || !strings.Contains(stderr, "-session-pooler") {
			t.Errorf("%s: exit %d, stderr %q; want exit 1 with advice", tc.name, code, stderr)
		}
		oneLine(t, tc.name, stderr)
		t.Logf("%s: %s", tc.name, stderr)
	}

	sb, err := pgtemp.StartBouncer(ctx, dsn, "session", user)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Stop()
	code, stdout, stderr := runMigrate(t, sb.URL(dsn), "-session-pooler", "up")
	if code != 0 || !strings.Contains(stdout, "applied 00005_users_last_name_idx.sql") {
		t.Fatalf("through a session-mode pooler with -session-pooler: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
