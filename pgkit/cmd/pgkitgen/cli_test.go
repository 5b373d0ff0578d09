package main

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// pgkitgenBinary builds pgkitgen into a temporary directory.
func pgkitgenBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "pgkitgen")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// runBinary runs bin with args and returns its stdout, stderr and exit code.
func runBinary(t *testing.T, bin string, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return stdout.String(), stderr.String(), 0
	case errors.As(err, &exit):
		return stdout.String(), stderr.String(), exit.ExitCode()
	}
	t.Fatalf("run %s: %v", bin, err)
	return "", "", -1
}

// TestCommandLine: -h and --help print the usage to stdout and exit 0; an
// unknown flag or a bad value exits 2 with one line naming the flag on
// stderr; a run that fails exits 1.
func TestCommandLine(t *testing.T) {
	bin := pgkitgenBinary(t)
	for _, h := range []string{"-h", "--help"} {
		stdout, stderr, code := runBinary(t, bin, h)
		if code != 0 || !strings.Contains(stdout, "Usage: pgkitgen") || !strings.Contains(stdout, "-check") || stderr != "" {
			t.Errorf("pgkitgen %s: exit %d, stdout %q, stderr %q; want the usage on stdout and exit 0", h, code, stdout, stderr)
		}
	}
	for args, flag := range map[string]string{"-bogus": "-bogus", "-check=maybe": "-check", "-dir": "-dir"} {
		stdout, stderr, code := runBinary(t, bin, strings.Fields(args)...)
		if code != 2 || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, flag) {
			t.Errorf("pgkitgen %s: exit %d, stdout %q, stderr %q; want exit 2 and one line naming %s on stderr", args, code, stdout, stderr, flag)
		}
	}
	stdout, stderr, code := runBinary(t, bin, "extra")
	if code != 2 || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "extra") {
		t.Errorf("pgkitgen extra: exit %d, stdout %q, stderr %q; want exit 2 and one line naming the argument", code, stdout, stderr)
	}
	_, stderr, code = runBinary(t, bin, "-dir", filepath.Join(t.TempDir(), "nope"))
	if code != 1 || !strings.Contains(stderr, "no such directory") {
		t.Errorf("pgkitgen -dir missing: exit %d, stderr %q; want exit 1 naming the directory", code, stderr)
	}
}
