package main

import (
	"strings"
	"testing"

	"github.com/shopdb/shopdb/internal/clitest"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// mainEnv, set to 1, makes the test binary run the command's main instead
// of the tests, so that tests see its real exit code, stdout and stderr.
const mainEnv = "SHOPDB_TEST_RUN_QUICKSTART_MAIN"

// command runs `quickstart args…` with DATABASE_URL=dsn and returns its exit
// code and output.
func command(t *testing.T, dsn string, args ...string) (int, string, string) {
	t.Helper()
	return clitest.Run(t, mainEnv, []string{"DATABASE_URL=" + dsn}, args...)
}

// TestHelpDoesNotRun: -h and --help print the usage on stdout and exit 0
// without running the demo (the unreachable DATABASE_URL would fail it);
// a bad flag is one line on stderr naming it, exit 2.
func TestHelpDoesNotRun(t *testing.T) {
	t.Parallel()
	unreachable := "postgres://nobody@127.0.0.1:1/none"
	for _, h := range []string{"-h", "--help", "-help"} {
		code, stdout, stderr := command(t, unreachable, h)
		if code != 0 || !strings.Contains(stdout, "usage: quickstart") || strings.Contains(stdout, "connected") || stderr != "" {
			t.Errorf("quickstart %s: exit %d, stdout %q, stderr %q; want the usage on stdout, exit 0", h, code, stdout, stderr)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-bogus"}, "-bogus"},
		{[]string{"-migrate=maybe"}, "-migrate"},
		{[]string{"now"}, `"now"`},
	} {
		code, stdout, stderr := command(t, unreachable, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) || stdout != "" || strings.Count(stderr, "\n") != 1 {
			t.Errorf("quickstart %v: exit %d, stdout %q, stderr %q; want exit 2 and one line naming %s", tc.args, code, stdout, stderr, tc.want)
		}
	}
}

// TestDatabaseURLIsMigratedOnlyWithMigrate: an unmigrated DATABASE_URL
// database is refused, naming both versions and -migrate; with -migrate
// the demo migrates it and runs.
func TestDatabaseURLIsMigratedOnlyWithMigrate(t *testing.T) {
	t.Parallel()
	dsn := pgkittest.EmptyURL(t)
	code, stdout, stderr := command(t, dsn)
	if code != 1 || !strings.Contains(stderr, "version 0, older than this binary's version 5") || !strings.Contains(stderr, "-migrate") {
		t.Fatalf("without -migrate: exit %d, stdout %q, stderr %q; want exit 1 naming versions 0 and 5 and -migrate", code, stdout, stderr)
	}
	code, stdout, stderr = command(t, dsn, "-migrate")
	if code != 0 || !strings.Contains(stdout, "migrations: 5 applied now") || !strings.Contains(stdout, "7. transaction rolled back") {
		t.Fatalf("with -migrate: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
