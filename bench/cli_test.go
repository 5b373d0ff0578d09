package main

// make bench's command line, by the house's CLI conventions: -h/--help
// prints usage to stdout (only) and exits 0; a usage error (unknown flag,
// bad value, unknown workload or client) exits 2 with one line naming the
// flag on stderr, before any server is started or result overwritten.

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const runMainEnv = "BENCH_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runMain runs the test binary as the command with args, in dir.
func runMain(t *testing.T, dir string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), runMainEnv+"=1", "DATABASE_URL=")
	var out, errs strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errs
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatal(err)
	}
	return code, out.String(), errs.String()
}

func TestHelpOnStdoutOnly(t *testing.T) {
	for _, arg := range []string{"-h", "--help"} {
		code, stdout, stderr := runMain(t, t.TempDir(), arg)
		if code != 0 || !strings.Contains(stdout, "usage: bench") || !strings.Contains(stdout, "-only") || stderr != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 0, the usage on stdout, nothing on stderr", arg, code, stdout, stderr)
		}
	}
}

// TestUsageErrorOneLine: each bad command line exits 2 with one line on
// stderr naming the flag, and writes no results (an -only naming no
// workload used to run nothing and overwrite results.md with empty tables).
func TestUsageErrorOneLine(t *testing.T) {
	for _, c := range []struct {
		args []string
		flag string
	}{
		{[]string{"-bogus"}, "-bogus"},
		{[]string{"-reps", "x"}, "-reps"},
		{[]string{"-reps", "0"}, "-reps"},
		{[]string{"-duration", "0s"}, "-duration"},
		{[]string{"-only", "point,bogus"}, "-only"},
		{[]string{"-clients", "pgx,odbc"}, "-clients"},
		{[]string{"-users", "10", "-products", "10", "-only", "bogus"}, "-only"},
		{[]string{"extra"}, "extra"},
	} {
		dir := t.TempDir()
		code, stdout, stderr := runMain(t, dir, append(c.args, "-out", "results")...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != 2 || len(lines) != 1 || !strings.Contains(lines[0], c.flag) || stdout != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and one line naming %s on stderr", c.args, code, stdout, stderr, c.flag)
		}
		if _, err := os.Stat(filepath.Join(dir, "results")); err == nil {
			t.Errorf("%v: wrote results", c.args)
		}
	}
}
