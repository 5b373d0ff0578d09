// Package clitest runs a command's main from its own test binary, so that
// the tests of shopdb's commands see real exit codes, stdout and stderr.
//
// The package's TestMain runs main instead of the tests when the marker
// variable is 1:
//
//	func TestMain(m *testing.M) {
//		if os.Getenv(mainEnv) == "1" {
//			main()
//			os.Exit(0)
//		}
//		os.Exit(m.Run())
//	}
package clitest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// Run runs the test binary as the command (marker=1 in its environment,
// with env added) with args, and returns its exit code and output. A
// command still running after two minutes is killed and fails the test.
func Run(t testing.TB, marker string, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), marker+"=1"), env...)
	cmd.WaitDelay = 5 * time.Second
	var out, errs strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errs
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String(), errs.String()
	case errors.As(err, &exit):
		return exit.ExitCode(), out.String(), errs.String()
	}
	t.Fatalf("run %s: %v", strings.Join(args, " "), err)
	return -1, "", ""
}

// Buffer is a bytes.Buffer safe for a writer and a reader at once: the
// output of a command a test reads while it runs.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
