package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/internal/clitest"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
	"github.com/shopdb/shopdb/schema"
)

// envRunMain, set to 1, makes the test binary run main() instead of the
// tests (TestMain), so that tests can check the command's exit codes.
const envRunMain = "SHOPAPI_TEST_RUN_MAIN"

// command is run() serving in a goroutine, stopped at the test's end.
type command struct {
	addr   string
	out    *clitest.Buffer
	done   chan error
	cancel context.CancelFunc
	once   sync.Once
	err    error
}

// startCommand runs the command with args (after -addr 127.0.0.1:0) on
// dsn and returns once it listens.
func startCommand(t *testing.T, dsn string, args ...string) *command {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &command{out: &clitest.Buffer{}, done: make(chan error, 1), cancel: cancel}
	ready := make(chan string, 1)
	go func() { c.done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), dsn, c.out, ready) }()
	t.Cleanup(func() {
		if err := c.stop(); err != nil && !t.Failed() {
			t.Errorf("run: %v\n%s", err, c.out)
		}
	})
	select {
	case c.addr = <-ready:
	case err := <-c.done:
		c.done <- err
		t.Fatalf("run ended before listening: %v\n%s", err, c.out)
	case <-time.After(30 * time.Second):
		t.Fatalf("not listening after 30s:\n%s", c.out)
	}
	return c
}

// stop cancels the command and waits for run to return (once).
func (c *command) stop() error {
	c.once.Do(func() {
		c.cancel()
		select {
		case c.err = <-c.done:
		case <-time.After(20 * time.Second):
			c.err = errors.New("no shutdown within 20s")
		}
	})
	return c.err
}

// get does GET path on the command and returns the status and body.
func (c *command) get(t *testing.T, path string) (int, http.Header, []byte) {
	t.Helper()
	client := &http.Client{Timeout: 20 * time.Second}
	resp, err := client.Get("http://" + c.addr + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body
}

// waitHealthy polls /healthz until it answers 200.
func (c *command) waitHealthy(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, _, body := c.get(t, "/healthz")
		if code == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz still %d %s after 30s:\n%s", code, body, c.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestListensBeforeSeeding: the port is bound, and answers, while the
// demo data is still being loaded: 503 with Retry-After on the page and
// /healthz, /metrics served; once seeded, the page is 200. Seeding is held
// up by a lock the test keeps on the users table.
func TestListensBeforeSeeding(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgkittest.URL(t, schema.FS())
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	lock, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lock.Exec(ctx, "LOCK TABLE users IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	released := false
	release := func() {
		if !released {
			released = true
			if err := lock.Rollback(ctx); err != nil {
				t.Error(err)
			}
		}
	}
	t.Cleanup(release)

	c := startCommand(t, dsn, "-seed", "20", "-pool", "2")
	for _, path := range []string{"/products/1?customer=1", "/", "/healthz"} {
		code, hdr, body := c.get(t, path)
		var msg map[string]any
		if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" || json.Unmarshal(body, &msg) != nil || msg["error"] == nil {
			t.Errorf("GET %s while seeding: %d Retry-After %q %s; want 503 with Retry-After and a JSON error", path, code, hdr.Get("Retry-After"), body)
		}
	}
	if code, _, body := c.get(t, "/metrics"); code != http.StatusOK || !bytes.Contains(body, []byte("go_goroutines")) {
		t.Errorf("/metrics while seeding: %d", code)
	}
	release()
	c.waitHealthy(t)
	if code, _, body := c.get(t, "/products/1?customer=1"); code != http.StatusOK {
		t.Fatalf("page after seeding: %d %s", code, body)
	}
	if err := c.stop(); err != nil {
		t.Fatalf("run: %v\n%s", err, c.out)
	}
	if !strings.Contains(c.out.String(), `"msg":"seeded","users":20,"products":2,"reviews":20,"orders":100`) {
		t.Fatalf("output:\n%s", c.out)
	}
}

// TestHelpAndUsageErrors runs main() in a child process: -h prints the
// usage on stdout and exits 0; an unknown flag or a bad value exits 2 with
// one line on stderr naming the flag.
func TestHelpAndUsageErrors(t *testing.T) {
	t.Parallel()
	// Should a command line wrongly be accepted, the child finds no
	// database (a loopback port we opened and closed) and binds no fixed
	// port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nowhere := "postgres://nobody@" + ln.Addr().String() + "/shop?connect_timeout=2"
	ln.Close()
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string // a substring; "" for empty
		stderr string // a substring of the one line; "" for empty
	}{
		{[]string{"-h"}, 0, "-read-timeout", ""},
		{[]string{"--help"}, 0, "-idle-timeout", ""},
		{[]string{"-nope"}, 2, "", "-nope"},
		{[]string{"-seed", "many"}, 2, "", "-seed"},
		{[]string{"-pool", "0"}, 2, "", "-pool"},
		{[]string{"-seed", "-1"}, 2, "", "-seed"},
		{[]string{"-timeout", "0s"}, 2, "", "-timeout"},
		{[]string{"-idle-timeout", "-1s"}, 2, "", "-idle-timeout"},
		{[]string{"-max-body", "0"}, 2, "", "-max-body"},
		{[]string{"-timeout", "10s", "-write-timeout", "5s"}, 2, "", "-write-timeout"},
		{[]string{"extra"}, 2, "", "extra"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		cmd := exec.CommandContext(ctx, os.Args[0], append([]string{"-addr", "127.0.0.1:0"}, tc.args...)...)
		cmd.Env = append(os.Environ(), envRunMain+"=1", "DATABASE_URL="+nowhere)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		cancel()
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
		switch {
		case code != tc.code:
			t.Errorf("%v: exit %d, want %d; stdout %q stderr %q", tc.args, code, tc.code, stdout.String(), stderr.String())
		case tc.stdout != "" && !strings.Contains(stdout.String(), tc.stdout), tc.stdout == "" && stdout.Len() > 0:
			t.Errorf("%v: stdout %q, want it to contain %q", tc.args, stdout.String(), tc.stdout)
		case tc.stderr == "" && stderr.Len() > 0:
			t.Errorf("%v: stderr %q, want none", tc.args, stderr.String())
		case tc.stderr != "" && (len(lines) != 1 || !strings.Contains(lines[0], tc.stderr)):
			t.Errorf("%v: stderr %q, want one line naming %q", tc.args, stderr.String(), tc.stderr)
		}
	}
}
