package main

import (
	"strings"
	"testing"

	"github.com/shopdb/shopdb/internal/clitest"
)

// mainEnv, set to 1, makes the test binary run the command's main instead
// of the tests, so that tests see its real exit code, stdout and stderr.
const mainEnv = "SHOPDB_TEST_RUN_EXPORT_MAIN"

// command runs `export args…` with DATABASE_URL=dsn and returns its exit
// code and output.
func command(t *testing.T, dsn string, args ...string) (int, string, string) {
	t.Helper()
	return clitest.Run(t, mainEnv, []string{"DATABASE_URL=" + dsn}, args...)
}

// TestHelpAndUsageErrors: -h and --help print the usage on stdout and exit
// 0 without touching a database; a bad flag or value is one line on
// stderr naming it, exit 2.
func TestHelpAndUsageErrors(t *testing.T) {
	t.Parallel()
	unreachable := "postgres://nobody@127.0.0.1:1/none"
	for _, h := range []string{"-h", "--help", "-help"} {
		code, stdout, stderr := command(t, unreachable, h)
		if code != 0 || !strings.Contains(stdout, "-query") || !strings.Contains(stdout, "read-only") || stderr != "" {
			t.Errorf("export %s: exit %d, stdout %q, stderr %q; want the usage on stdout, exit 0", h, code, stdout, stderr)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-bogus"}, "-bogus"},
		{[]string{"-table", "users", "-demo", "many"}, "-demo"},
		{[]string{"-format", "xml", "-table", "users"}, "-format"},
		{[]string{"-table", "users", "extra"}, `"extra"`},
		{[]string{"-table", "users", "-format", "jsonl", "-via", "copy"}, "-via copy"},
		{[]string{"-table", "users", "-via", "copy", "-format", "jsonl"}, "-via copy"},
		{[]string{"-table", "users", "-demo", "-1"}, "-demo"},
		{[]string{"-query", "   "}, "-query"},
		{[]string{"-query", " ; "}, "-query"},
	} {
		code, stdout, stderr := command(t, unreachable, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) || stdout != "" || strings.Count(stderr, "\n") != 1 {
			t.Errorf("export %v: exit %d, stdout %q, stderr %q; want exit 2 and one line naming %s", tc.args, code, stdout, stderr, tc.want)
		}
	}
}
