package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/shopdb/shopdb/internal/clitest"
)

// envAsCommand makes the test binary run as the bulkload command (TestMain).
const envAsCommand = "BULKLOAD_TEST_AS_COMMAND"

// hangBound is how long a child process may take before the test calls it
// hung: generous, for hang detection only.
const hangBound = 3 * time.Minute

// child is the bulkload command running in a process of its own.
type child struct {
	cmd            *exec.Cmd
	stdout, stderr clitest.Buffer
	done           chan struct{}
	err            error
}

// startCommand starts the test binary as bulkload with args on dsn, its
// standard input read from stdin (an *os.File is handed to it as it is).
// The process is killed (by its PID) and waited for when the test ends, if
// it has not ended by then.
func startCommand(t *testing.T, dsn string, stdin io.Reader, args ...string) *child {
	t.Helper()
	return start(t, os.Args[0], append(os.Environ(), envAsCommand+"=1", "DATABASE_URL="+dsn), stdin, args...)
}

// start starts bin with env and args, as startCommand says.
func start(t *testing.T, bin string, env []string, stdin io.Reader, args ...string) *child {
	t.Helper()
	c := &child{done: make(chan struct{})}
	c.cmd = exec.Command(bin, append(args, "-progress", "none")...)
	c.cmd.Env = env
	c.cmd.Stdin = stdin
	c.cmd.Stdout = &c.stdout
	c.cmd.Stderr = &c.stderr
	// Once it has exited, Wait gives up on copying stdin from a reader
	// that blocks.
	c.cmd.WaitDelay = 10 * time.Second
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		select {
		case <-c.done:
		default:
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	})
	return c
}

// wait waits for the process to end and returns its exit code; a process
// still running after hangBound fails the test.
func (c *child) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(hangBound):
		_ = c.cmd.Process.Kill()
		<-c.done
		t.Fatalf("bulkload still running after %s: killed\nstdout: %s\nstderr: %s", hangBound, c.stdout.String(), c.stderr.String())
	}
	return c.cmd.ProcessState.ExitCode()
}

// buildCommand builds bulkload into a temporary directory, without the
// race detector whatever the test binary was built with (its shadow memory
// would count in the RSS measured), and returns its path.
func buildCommand(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
		if _, err := os.Stat(gobin); err != nil {
			t.Skip("no go command to build bulkload with")
		}
	}
	bin := filepath.Join(t.TempDir(), "bulkload")
	cmd := exec.Command(gobin, "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "GOFLAGS=") // no -race from the environment
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
