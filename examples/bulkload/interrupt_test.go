package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/pgkit/pgkittest"
	"github.com/shopdb/shopdb/schema"
)

// numberedUsers is a users CSV of rows n (header included), the i-th row
// (line i+1) with e-mail address user<i>@example.com.
func numberedUsers(from, to int) string {
	var b strings.Builder
	for i := from; i <= to; i++ {
		b.WriteString("First" + itoa(i) + ",Last" + itoa(i) + ",user" + itoa(i) + "@example.com\n")
	}
	return b.String()
}

// Ctrl-C (SIGINT) while the input is still coming: the command says how
// many rows it stored and the line to resume from, and exits 130; resumed
// from that line, the load stores every row exactly once.
func TestInterruptSaysWhereToResume(t *testing.T) {
	t.Parallel()
	dsn := pgkittest.URL(t, schema.FS())
	const header = "first_name,last_name,email\n"
	// Standard input is a pipe the test holds open: 105 rows, of which ten
	// batches are stored while five wait for more input that does not come.
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pw.Close() })
	c := startCommand(t, dsn, pr, "-table", "users", "-batch", "10")
	pr.Close() // the child has its own
	if _, err := pw.Write([]byte(header + numberedUsers(1, 105))); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(hangBound)
	for count(t, dsn, "SELECT count(*) FROM users") < 100 {
		if time.Now().After(deadline) {
			t.Fatalf("fewer than 100 rows stored after %s\n%s", hangBound, c.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := c.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	code := c.wait(t)
	errs := c.stderr.String()
	if code != exitInterrupted || !strings.Contains(errs, "interrupted: 100 rows stored") || !strings.Contains(errs, "-from-line 102") {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	if n := count(t, dsn, "SELECT count(*) FROM users"); n != 100 {
		t.Fatalf("%d rows stored, the command said 100", n)
	}
	// Resumed with the whole input: rows 101–105 are loaded, none twice.
	code, out, errs := bulkload(t, dsn, header+numberedUsers(1, 105), "-table", "users", "-from-line", "102")
	if code != exitOK || !strings.Contains(out, "loaded 5 rows") || !strings.Contains(out, "0 bad rows") {
		t.Fatalf("resume: exit %d %s\n%s", code, out, errs)
	}
	if n := count(t, dsn, "SELECT count(DISTINCT email) FROM users"); n != 105 {
		t.Fatalf("%d distinct users after resuming, want 105", n)
	}
}

// cancelAfter reads r, then cancels and blocks until ctx ends, as a pipe
// whose writer is still there when Ctrl-C comes.
type cancelAfter struct {
	r      io.Reader
	ctx    context.Context
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	if n, err := c.r.Read(p); err != io.EOF {
		return n, err
	}
	c.cancel()
	<-c.ctx.Done()
	return 0, io.ErrUnexpectedEOF
}

// The same in both modes, in process: the partial batch is not stored;
// with -all-or-nothing nothing is, and it says so.
func TestInterruptBothModes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args   []string
		stored int
		want   []string
	}{
		{[]string{"-batch", "10"}, 40, []string{"interrupted: 40 rows stored", "-from-line 42"}},
		{[]string{"-batch", "10", "-all-or-nothing"}, 0, []string{"interrupted", "nothing was stored (-all-or-nothing)"}},
	} {
		dsn := pgkittest.URL(t, schema.FS())
		ctx, cancel := context.WithCancel(context.Background())
		in := &cancelAfter{r: strings.NewReader("first_name,last_name,email\n" + numberedUsers(1, 47)), ctx: ctx, cancel: cancel}
		var stdout, stderr bytes.Buffer
		code := run(ctx, append(tc.args, "-table", "users", "-progress", "none"), dsn, in, &stdout, &stderr)
		cancel()
		if code != exitInterrupted {
			t.Errorf("%v: exit %d\n%s", tc.args, code, stderr.String())
		}
		for _, want := range tc.want {
			if !strings.Contains(stderr.String(), want) {
				t.Errorf("%v: stderr lacks %q:\n%s", tc.args, want, stderr.String())
			}
		}
		if n := count(t, dsn, "SELECT count(*) FROM users"); n != tc.stored {
			t.Errorf("%v: %d rows stored, want %d", tc.args, n, tc.stored)
		}
	}
}

// phased reads first, then calls between once, then reads then; at its
// end it blocks until ctx ends.
type phased struct {
	first, then io.Reader
	between     func()
	ctx         context.Context
}

func (p *phased) Read(b []byte) (int, error) {
	if p.first != nil {
		if n, err := p.first.Read(b); err != io.EOF {
			return n, err
		}
		p.first = nil
		p.between()
	}
	if n, err := p.then.Read(b); err != io.EOF {
		return n, err
	}
	<-p.ctx.Done()
	return 0, p.ctx.Err()
}

// Interrupted while a COPY waits on the server (a lock the test holds):
// the COPY is cancelled and rolled back, the batches before it stay, and
// the count and the line to resume from are exact.
func TestInterruptDuringCopy(t *testing.T) {
	t.Parallel()
	dsn := pgkittest.URL(t, schema.FS())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	locker, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Close(context.Background())
	in := &phased{
		// Two batches of 10, stored; then the table is locked against
		// inserts, and the third batch waits.
		first: strings.NewReader("first_name,last_name,email\n" + numberedUsers(1, 20)),
		then:  strings.NewReader(numberedUsers(21, 35)),
		between: func() {
			if _, err := locker.Exec(context.Background(), "BEGIN; LOCK TABLE users IN SHARE MODE"); err != nil {
				t.Error(err)
			}
		},
		ctx: ctx,
	}
	watcher, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Close(context.Background())
	watched := make(chan struct{})
	go func() {
		// Ctrl-C once the COPY waits for the lock.
		defer close(watched)
		defer cancel()
		deadline := time.Now().Add(hangBound)
		for time.Now().Before(deadline) && ctx.Err() == nil {
			var n int
			err := watcher.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
				WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE 'copy%'`).Scan(&n)
			if err != nil {
				t.Error(err)
				return
			}
			if n > 0 {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Errorf("no COPY waited for the lock within %s", hangBound)
	}()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"-table", "users", "-batch", "10", "-progress", "none"}, dsn, in, &stdout, &stderr)
	<-watched
	if _, err := locker.Exec(context.Background(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if code != exitInterrupted || !strings.Contains(stderr.String(), "interrupted: 20 rows stored") || !strings.Contains(stderr.String(), "-from-line 22") {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
	if n := count(t, dsn, "SELECT count(*) FROM users"); n != 20 {
		t.Fatalf("%d rows stored, the command said 20", n)
	}
}
