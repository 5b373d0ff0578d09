package pgkit_test

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// TestReadBufferSize: a connection asks its socket for ReadBufferSize
// bytes at once (DefaultReadBufferSize when zero), and for no more than
// pgx's own 8 KiB when it is 8192 or less; what comes through the buffer
// is the server's answer byte for byte: many rows of a few KiB, a value
// larger than the buffer (read past it), no rows, a NULL, and a statement
// after an error. Without the buffer (pgx's reads), no read asked for
// more than 8 KiB for the small messages of start-up and SELECT 1.
func TestReadBufferSize(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgkittest.EmptyURL(t)
	for _, c := range []struct {
		size    int
		minAsk  int // the largest read of start-up and SELECT 1 asked for is at least this
		maxAsk  int // and, if not 0, at most this
		workout bool
	}{
		{0, pgkit.DefaultReadBufferSize, 0, true},
		{64 << 10, 64 << 10, 0, true},
		{8192, 1, 8192, false},
		{1, 1, 8192, false},
	} {
		pcfg, err := pgkit.ParseConfig(url, pgkit.Config{MaxConns: 1, ReadBufferSize: c.size})
		if err != nil {
			t.Fatal(err)
		}
		var largest atomic.Int64
		dial := pcfg.ConnConfig.DialFunc
		pcfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
			nc, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &askCounter{Conn: nc, largest: &largest}, nil
		}
		pool, err := pgxpool.NewWithConfig(ctx, pcfg)
		if err != nil {
			t.Fatal(err)
		}
		var one int
		if err := pool.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
			t.Fatalf("size %d: SELECT 1: %d, %v", c.size, one, err)
		}
		if got := int(largest.Load()); got < c.minAsk || (c.maxAsk > 0 && got > c.maxAsk) {
			t.Errorf("size %d: the largest read of start-up and SELECT 1 asked for %d bytes, want [%d, %d]", c.size, got, c.minAsk, c.maxAsk)
		}
		if c.workout {
			readThrough(t, ctx, pool)
		}
		pool.Close()
	}
	if _, err := pgkit.Open(ctx, url, pgkit.Config{ReadBufferSize: -1}); err == nil || !strings.Contains(err.Error(), "ReadBufferSize") {
		t.Errorf("ReadBufferSize -1: %v, want an error naming it", err)
	}
}

// readThrough checks results of every size come through pool intact.
func readThrough(t *testing.T, ctx context.Context, pool *pgxpool.Pool) {
	t.Helper()
	rows, err := pool.Query(ctx, "SELECT i, repeat(chr(65 + i % 26), 3000 + i) FROM generate_series(1, 2000) AS i")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var i int
		var s string
		if err := rows.Scan(&i, &s); err != nil {
			t.Fatal(err)
		}
		if n++; i != n || s != strings.Repeat(string(rune(65+i%26)), 3000+i) {
			t.Fatalf("row %d: i %d, %d bytes", n, i, len(s))
		}
	}
	if rows.Err() != nil || n != 2000 {
		t.Fatalf("%d rows, %v", n, rows.Err())
	}
	var big []byte
	if err := pool.QueryRow(ctx, "SELECT decode(repeat('0123456789abcdef', 200000), 'hex')").Scan(&big); err != nil {
		t.Fatal(err)
	}
	if want := bytes.Repeat([]byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}, 200000); !bytes.Equal(big, want) {
		t.Fatalf("a value larger than the buffer: %d bytes, want %d", len(big), len(want))
	}
	var none []int
	rows, err = pool.Query(ctx, "SELECT 1 WHERE false")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		none = append(none, 1)
	}
	if rows.Err() != nil || len(none) != 0 {
		t.Fatalf("no rows: %v, %v", none, rows.Err())
	}
	if _, err := pool.Exec(ctx, "SELECT 1/0"); err == nil {
		t.Fatal("SELECT 1/0 succeeded")
	}
	var null *string
	if err := pool.QueryRow(ctx, "SELECT NULL::text").Scan(&null); err != nil || null != nil {
		t.Fatalf("after an error, NULL: %v, %v", null, err)
	}
}

// askCounter is a connection that records the largest read asked of it.
type askCounter struct {
	net.Conn
	largest *atomic.Int64
}

// Read records len(p) and reads.
func (c *askCounter) Read(p []byte) (int, error) {
	for n := int64(len(p)); ; {
		old := c.largest.Load()
		if n <= old || c.largest.CompareAndSwap(old, n) {
			break
		}
	}
	return c.Conn.Read(p)
}
