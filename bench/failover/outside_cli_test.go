package main

// An outside look at issue 15: `make failover`'s command line, by the
// house's CLI conventions: -h/--help prints usage to stdout (only) and
// exits 0; a usage error exits 2 with one line naming the flag on stderr.

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

const outsideMainEnv = "FAILOVER_OUTSIDE_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(outsideMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runMain runs the test binary as the command with args.
func runMain(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), outsideMainEnv+"=1")
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

// TestOutsideHelpOnStdoutOnly: on main, -h prints the usage twice, once
// to stderr (flag's own call of Usage, made before parse sets the output
// to stdout) and once to stdout.
func TestOutsideHelpOnStdoutOnly(t *testing.T) {
	for _, arg := range []string{"-h", "--help"} {
		code, stdout, stderr := runMain(t, arg)
		if code != 0 || !strings.Contains(stdout, "usage: failover") || stderr != "" {
			t.Errorf("%s: exit %d, stdout %d bytes, stderr %q; want exit 0, the usage on stdout, nothing on stderr", arg, code, len(stdout), stderr)
		}
	}
}

// TestOutsideUsageErrorOneLine: on main, an unknown flag or a bad value
// prints flag's message and then the whole usage (16 lines) to stderr.
func TestOutsideUsageErrorOneLine(t *testing.T) {
	for _, args := range [][]string{{"-bogus"}, {"-writers", "x"}, {"-settle", "0"}} {
		code, stdout, stderr := runMain(t, args...)
		lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
		if code != 2 || stdout != "" || len(lines) != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %d lines (%q); want exit 2 and one line on stderr", args, code, stdout, len(lines), lines[0])
		}
	}
}
