package pgkit_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// An outside review of Config.ReadBufferSize: each case runs with pgx's own
// reads (8192) and with buffers of several sizes, and what it asserts holds
// for all of them. None of them found a difference from pgx's reads; they
// stay as guards of the paths where a buffer under pgx could change one
// (reads a deadline interrupts, COPY, notifications, the multiplexer's
// lanes, a session ended while idle). TestReadBufferOddSizes failed before
// MaxReadBufferSize: any size was accepted, and 1<<40 ended the process.

// readBufferSizes are the sizes every case runs with: pgx's reads, the
// default, a buffer barely larger than pgx's, and a large one.
var readBufferSizes = []int{8192, 0, 8193, 1 << 20}

// openSized opens a pool of url with ReadBufferSize size, closed at the end
// of the test.
func openSized(t *testing.T, url string, cfg pgkit.Config, size int) *pgkit.DB {
	t.Helper()
	cfg.ReadBufferSize = size
	d, err := pgkit.Open(context.Background(), url, cfg)
	if err != nil {
		t.Fatalf("size %d: %v", size, err)
	}
	t.Cleanup(d.Close)
	return d
}

// endless is a result the server goes on sending rows of a few KiB of until
// it is stopped.
const endless = "SELECT i, repeat('x', 3000) FROM (SELECT generate_series(1, 100000000) AS i) AS s" // a set-returning function in the select list streams; in FROM it is materialized first

// TestReadBufferCancelMidResult: a large result whose context is cancelled,
// or whose deadline passes, while it streams ends with the context's error,
// and the pool's only connection is usable (or replaced) for the next
// statement; the same for QueryTimeout and for a cancel while one value of
// tens of MB is on its way.
func TestReadBufferCancelMidResult(t *testing.T) {
	t.Parallel()
	url := pgkittest.EmptyURL(t)
	for _, size := range []int{8192, 0} { // each size waits out a deadline and a QueryTimeout
		d := openSized(t, url, pgkit.Config{MaxConns: 1, QueryTimeout: 3 * time.Second}, size)
		// Cancel after some rows.
		ctx, cancel := context.WithCancel(context.Background())
		rows, err := d.Query(ctx, endless)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			if n++; n == 5000 {
				cancel()
			}
		}
		rows.Close()
		if !errors.Is(rows.Err(), context.Canceled) || n < 5000 {
			t.Errorf("size %d: cancelled after 5000 rows: %d rows, %v", size, n, rows.Err())
		}
		cancel()
		mustSelect1(t, d, size, "after a cancel mid-result")
		// A deadline while rows stream, and QueryTimeout (no deadline of
		// the caller's): both end the endless result.
		for _, c := range []struct {
			name string
			ctx  func() (context.Context, context.CancelFunc)
		}{
			{"deadline", func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 2*time.Second)
			}},
			{"QueryTimeout", func() (context.Context, context.CancelFunc) { return context.Background(), func() {} }},
		} {
			ctx, cancel := c.ctx()
			rows, err := d.Query(ctx, endless)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for rows.Next() {
				n++
			}
			rows.Close()
			if err := rows.Err(); !errors.Is(err, context.DeadlineExceeded) && !pgconn.Timeout(err) {
				t.Errorf("size %d: %s: %d rows, %v, want a timeout", size, c.name, n, err)
			}
			cancel()
			mustSelect1(t, d, size, "after "+c.name)
		}
		// A cancel while a 40 MB value arrives: it is either read whole or
		// ends with the cancel.
		for _, after := range []time.Duration{0, time.Millisecond, 20 * time.Millisecond} {
			ctx, cancel := context.WithCancel(context.Background())
			timer := time.AfterFunc(after, cancel)
			var s string
			err := d.QueryRow(ctx, "SELECT repeat('y', 40000000)").Scan(&s)
			timer.Stop()
			cancel()
			if err == nil && len(s) != 40000000 || err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("size %d: a 40 MB value cancelled after %v: %d bytes, %v", size, after, len(s), err)
			}
			mustSelect1(t, d, size, fmt.Sprintf("after a 40 MB value cancelled after %v", after))
		}
	}
}

// mustSelect1 runs SELECT 1 on d.
func mustSelect1(t *testing.T, d *pgkit.DB, size int, when string) {
	t.Helper()
	var one int
	if err := d.QueryRow(context.Background(), "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("size %d: SELECT 1 %s: %d, %v", size, when, one, err)
	}
}

// TestReadBufferNotifications: WaitForNotification on an acquired
// connection gets every notification, in order, also ones sent before it
// waited and ones near the 8000-byte payload limit; one whose context ends
// first returns and leaves the connection listening.
func TestReadBufferNotifications(t *testing.T) {
	t.Parallel()
	url := pgkittest.EmptyURL(t)
	ctx := context.Background()
	for _, size := range readBufferSizes {
		d := openSized(t, url, pgkit.Config{MaxConns: 2}, size)
		c, err := d.Pool().Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Exec(ctx, "LISTEN rbuf"); err != nil {
			t.Fatal(err)
		}
		// 40 of them at once: several per read with a buffer.
		if _, err := d.Exec(ctx, "SELECT pg_notify('rbuf', i || ':' || repeat('n', 7000)) FROM generate_series(1, 40) AS i"); err != nil {
			t.Fatal(err)
		}
		for i := 1; i <= 40; i++ {
			wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			nt, err := c.Conn().WaitForNotification(wctx)
			cancel()
			if err != nil {
				t.Fatalf("size %d: notification %d: %v", size, i, err)
			}
			if want := fmt.Sprintf("%d:%s", i, strings.Repeat("n", 7000)); nt.Payload != want {
				t.Fatalf("size %d: notification %d: %.10q…, %d bytes", size, i, nt.Payload, len(nt.Payload))
			}
		}
		wctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		_, err = c.Conn().WaitForNotification(wctx)
		cancel()
		if err == nil {
			t.Fatalf("size %d: a notification nobody sent", size)
		}
		if c.Conn().IsClosed() {
			// pgx closes a connection whose wait a deadline interrupted
			// (the read it cut short is a fatal error to pgconn); if it
			// did, it did with pgx's reads too.
			t.Logf("size %d: the connection was closed by the timed-out wait", size)
			c.Release()
			continue
		}
		go func() {
			time.Sleep(50 * time.Millisecond)
			_, _ = d.Exec(ctx, "NOTIFY rbuf, 'late'")
		}()
		wctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		nt, err := c.Conn().WaitForNotification(wctx)
		cancel()
		if err != nil || nt.Payload != "late" {
			t.Errorf("size %d: after a wait that timed out: %v, %v", size, nt, err)
		}
		c.Release()
	}
}

// TestReadBufferCopy: COPY FROM of 20 MB and COPY TO of it come through
// whole; a COPY FROM that fails midway leaves the pool usable.
func TestReadBufferCopy(t *testing.T) {
	t.Parallel()
	url := pgkittest.EmptyURL(t)
	ctx := context.Background()
	for _, size := range readBufferSizes {
		d := openSized(t, url, pgkit.Config{MaxConns: 1}, size)
		table := fmt.Sprintf("copied_%d", size)
		if _, err := d.Exec(ctx, "CREATE TABLE "+table+" (i int PRIMARY KEY, s text)"); err != nil {
			t.Fatal(err)
		}
		rowsIn := make([][]any, 5000)
		sum := sha256.New()
		for i := range rowsIn {
			s := strings.Repeat(string(rune('a'+i%26)), 4000)
			rowsIn[i] = []any{i, s}
			fmt.Fprintf(sum, "%d\t%s\n", i, s)
		}
		n, err := d.CopyFrom(ctx, pgx.Identifier{table}, []string{"i", "s"}, pgx.CopyFromRows(rowsIn))
		if err != nil || n != 5000 {
			t.Fatalf("size %d: CopyFrom: %d, %v", size, n, err)
		}
		var out bytes.Buffer
		if _, err := pgkit.CopyTo(ctx, d, &out, "COPY (SELECT i, s FROM "+table+" ORDER BY i) TO STDOUT"); err != nil {
			t.Fatalf("size %d: CopyTo: %v", size, err)
		}
		if got := sha256.Sum256(out.Bytes()); !bytes.Equal(got[:], sum.Sum(nil)) {
			t.Errorf("size %d: CopyTo gave %d bytes that are not what was copied in", size, out.Len())
		}
		// A duplicate key fails the copy after megabytes were sent.
		dup := append(rowsIn[:0:0], rowsIn[:10]...)
		if _, err := d.CopyFrom(ctx, pgx.Identifier{table}, []string{"i", "s"}, pgx.CopyFromRows(append(rowsIn[10:], dup...))); err == nil {
			t.Errorf("size %d: a duplicate key copied", size)
		}
		mustSelect1(t, d, size, "after a failed COPY FROM")
		// A COPY TO into a writer that fails.
		if _, err := pgkit.CopyTo(ctx, d, failingWriter{}, "COPY (SELECT i, s FROM "+table+") TO STDOUT"); err == nil {
			t.Errorf("size %d: a COPY TO into a failing writer succeeded", size)
		}
		mustSelect1(t, d, size, "after a COPY TO into a failing writer")
	}
}

// failingWriter fails every write.
type failingWriter struct{}

// Write fails.
func (failingWriter) Write(p []byte) (int, error) { return 0, io.ErrShortWrite }

// TestReadBufferMultiplexed: many callers on a multiplexer of 4 lanes, with
// large results, values of MB, and failing statements among them, each
// get their own answer.
func TestReadBufferMultiplexed(t *testing.T) {
	t.Parallel()
	url := pgkittest.EmptyURL(t)
	for _, size := range []int{8192, 0} {
		d := openSized(t, url, pgkit.Config{Multiplex: true, MaxConns: 4, AcquireTimeout: time.Minute}, size)
		if !d.Multiplexing() {
			t.Fatal("not multiplexing")
		}
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for g := range 32 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := range 6 {
					if err := muxWork(d, g, k); err != nil {
						errs <- fmt.Errorf("size %d, caller %d, round %d: %w", size, g, k, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
}

// muxWork is one statement of caller g's round k, checked.
func muxWork(d *pgkit.DB, g, k int) error {
	ctx := context.Background()
	switch (g + k) % 4 {
	case 0:
		rows, err := d.Query(ctx, "SELECT i, repeat(chr(65 + i % 26), 5000) FROM generate_series(1, 1000) AS i")
		if err != nil {
			return err
		}
		n := 0
		for rows.Next() {
			var i int
			var s string
			if err := rows.Scan(&i, &s); err != nil {
				return err
			}
			if n++; i != n || s != strings.Repeat(string(rune(65+i%26)), 5000) {
				return fmt.Errorf("row %d: %d, %d bytes", n, i, len(s))
			}
		}
		if rows.Err() != nil || n != 1000 {
			return fmt.Errorf("%d rows, %v", n, rows.Err())
		}
	case 1:
		if _, err := d.Exec(ctx, "SELECT 1/(i - 500) FROM generate_series(1, 1000) AS i"); err == nil {
			return errors.New("a division by zero succeeded")
		} else if pe := (*pgconn.PgError)(nil); !errors.As(err, &pe) || pe.Code != "22012" {
			return fmt.Errorf("a division by zero: %w", err)
		}
	case 2:
		var s string
		want := 3000000 + g
		if err := d.QueryRow(ctx, "SELECT repeat('v', $1)", want).Scan(&s); err != nil || len(s) != want {
			return fmt.Errorf("a %d-byte value: %d bytes, %v", want, len(s), err)
		}
	default:
		var got int
		if err := d.QueryRow(ctx, "SELECT $1::int * 2", g*100+k).Scan(&got); err != nil || got != (g*100+k)*2 {
			return fmt.Errorf("SELECT $1*2: %d, %v", got, err)
		}
	}
	return nil
}

// TestReadBufferTerminatedIdle: a pooled connection whose session the
// server ended while it sat idle is replaced before the next statement, as
// with pgx's own reads.
func TestReadBufferTerminatedIdle(t *testing.T) {
	t.Parallel()
	url := pgkittest.EmptyURL(t)
	ctx := context.Background()
	for _, size := range readBufferSizes {
		d := openSized(t, url, pgkit.Config{MaxConns: 1}, size)
		// A result larger than the buffer first, so that what the buffer
		// holds is not fresh.
		var s string
		if err := d.QueryRow(ctx, "SELECT repeat('z', 100000)").Scan(&s); err != nil {
			t.Fatal(err)
		}
		var pid int
		if err := d.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
			t.Fatal(err)
		}
		adminExec(t, url, fmt.Sprintf("SELECT pg_terminate_backend(%d, 10000)", pid))
		var again int
		if err := d.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&again); err != nil {
			t.Errorf("size %d: the first statement after the session was ended: %v", size, err)
		} else if again == pid {
			t.Errorf("size %d: the ended session's backend %d answered", size, pid)
		}
	}
}

// TestReadBufferOddSizes: 1 and 8193 work as any size does; a size no
// socket read could ever fill, whose buffer Open would allocate per
// connection (a terabyte ends the process), is refused.
func TestReadBufferOddSizes(t *testing.T) {
	t.Parallel()
	url := pgkittest.EmptyURL(t)
	ctx := context.Background()
	for _, size := range []int{1, 8193, pgkit.MaxReadBufferSize} {
		d := openSized(t, url, pgkit.Config{MaxConns: 1}, size)
		readThrough(t, ctx, d.Pool())
	}
	for _, size := range []int{pgkit.MaxReadBufferSize + 1, 1 << 30, 1 << 40} {
		if _, err := pgkit.ParseConfig(url, pgkit.Config{ReadBufferSize: size}); err == nil || !strings.Contains(err.Error(), "ReadBufferSize") {
			t.Errorf("ReadBufferSize %d: %v, want an error naming it", size, err)
		}
	}
}
