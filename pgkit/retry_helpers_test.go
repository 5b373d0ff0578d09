package pgkit_test

// Helpers of the retry-path tests (retry_paths_test.go,
// retry_paths_replica_test.go): a ledger of what each write's caller saw,
// checked against the rows on a clean connection; a tracer that injects a
// fault as a statement starts; a faultproxy in front of a server.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/sys/unix"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/faultproxy"
	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// The writes of the retry-path tests. retry_writes has no constraint on
// token: a write that ran twice shows as two rows.
const (
	retryTable   = "CREATE TABLE retry_writes (token text NOT NULL, v int)"
	insertSQL    = "INSERT INTO retry_writes (token, v) VALUES ($1, $2)"
	returningSQL = "INSERT INTO retry_writes (token, v) VALUES ($1, $2) RETURNING token"
)

// ledger records, per token, what the caller of its write saw.
type ledger struct {
	mu      sync.Mutex
	outcome map[string]error // nil: acknowledged
}

func newLedger() *ledger { return &ledger{outcome: map[string]error{}} }

// note records the outcome of the write of token.
func (l *ledger) note(token string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, dup := l.outcome[token]; dup {
		panic("token written twice by the test: " + token)
	}
	l.outcome[token] = err
}

// exec writes token with Exec of sql (insertSQL, or a variant) on db and
// notes the outcome.
func (l *ledger) exec(ctx context.Context, db interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
}, sql, token string, v int) error {
	tag, err := db.Exec(ctx, sql, token, v)
	if err == nil && tag.RowsAffected() != 1 {
		err = fmt.Errorf("%s: %d rows affected", token, tag.RowsAffected())
	}
	l.note(token, err)
	return err
}

// queryRow writes token with QueryRow of sql (returningSQL, or a
// variant: INSERT … RETURNING token, the Query path) on db and notes the
// outcome.
func (l *ledger) queryRow(ctx context.Context, db interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, sql, token string, v int) error {
	var got string
	err := db.QueryRow(ctx, sql, token, v).Scan(&got)
	if err == nil && got != token {
		err = fmt.Errorf("%s: RETURNING gave %q", token, got)
	}
	l.note(token, err)
	return err
}

// typedFailure reports an error a caller can act on: the connection was
// lost (its statement may have run), or the server's own error.
func typedFailure(err error) bool {
	var pgErr *pgconn.PgError
	return errors.Is(err, pgerr.ErrConnectionLost) || errors.As(err, &pgErr)
}

// check counts every token of retry_writes over clean, a pool straight to
// the server, and fails t unless each acknowledged write is there exactly
// once, each failed one at most once, each failure is typed, and a failed
// write that is there (it was sent, and ran) does not claim to be safe to
// retry. It returns how many writes were acknowledged and how many failed.
func (l *ledger) check(t *testing.T, clean *pgkit.DB) (acked, failed int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows, err := clean.Query(ctx, "SELECT token, count(*) FROM retry_writes GROUP BY token")
	if err != nil {
		t.Fatal(err)
	}
	stored, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (struct {
		token string
		n     int
	}, error) {
		var s struct {
			token string
			n     int
		}
		return s, r.Scan(&s.token, &s.n)
	})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, s := range stored {
		count[s.token] = s.n
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	tokens := make([]string, 0, len(l.outcome))
	for tok := range l.outcome {
		tokens = append(tokens, tok)
	}
	sort.Strings(tokens)
	for _, tok := range tokens {
		err, n := l.outcome[tok], count[tok]
		delete(count, tok)
		switch {
		case n > 1:
			t.Errorf("%s ran %d times (its caller saw %v)", tok, n, err)
		case err == nil:
			acked++
			if n != 1 {
				t.Errorf("%s was acknowledged but is not there", tok)
			}
		default:
			failed++
			if !typedFailure(err) {
				t.Errorf("%s failed with an untyped error: %v", tok, err)
			}
			if n == 1 && pgconn.SafeToRetry(err) {
				t.Errorf("%s ran, yet its error says it is safe to retry: %v", tok, err)
			}
		}
	}
	for tok, n := range count {
		t.Errorf("%d rows of %s, which no caller wrote", n, tok)
	}
	return acked, failed
}

// createRetryTable creates retry_writes on clean.
func createRetryTable(t *testing.T, clean *pgkit.DB) {
	t.Helper()
	if _, err := clean.Exec(context.Background(), retryTable); err != nil {
		t.Fatal(err)
	}
}

// proxied starts a faultproxy in front of the server of dsn and returns
// dsn pointed at it; the test's cleanup closes the proxy.
func proxied(t *testing.T, dsn string) (string, *faultproxy.Proxy) {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	p, err := faultproxy.Start(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	u.Host = p.Addr()
	return u.String(), p
}

// proxyConnOf is the proxy's connection carrying conn's bytes, or nil.
func proxyConnOf(p *faultproxy.Proxy, conn *pgx.Conn) *faultproxy.Conn {
	local := conn.PgConn().Conn().LocalAddr().String()
	for _, c := range p.Conns() {
		if c.ClientAddr() == local {
			return c
		}
	}
	return nil
}

// faultTracer is a pgx tracer (Config.Tracer) that calls its hook as each
// statement starts: on the caller's goroutine before any byte of the
// statement is written (on a lane's goroutine when multiplexed), the
// moment to break a connection that the pool has already handed out. It
// counts the starts of each token (a statement's first argument) and the
// statements the server refused as stale (0A000), which pgkit runs again,
// and notes the SQL texts that ran on each pooled connection (and so are
// prepared on it).
type faultTracer struct {
	mu     sync.Mutex
	hook   func(conn *pgx.Conn, sql, token string)
	starts map[string]int
	stale  int
	ran    map[*pgconn.PgConn]map[string]bool
}

func newFaultTracer() *faultTracer {
	return &faultTracer{starts: map[string]int{}, ran: map[*pgconn.PgConn]map[string]bool{}}
}

// preparedOn reports whether sql ran on conn without error before: pgx
// (QueryExecModeCacheStatement) has it prepared there.
func (f *faultTracer) preparedOn(conn *pgx.Conn, sql string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ran[conn.PgConn()][sql]
}

// set replaces the hook (nil: none).
func (f *faultTracer) set(hook func(conn *pgx.Conn, sql, token string)) {
	f.mu.Lock()
	f.hook = hook
	f.mu.Unlock()
}

// startsOf is how many times token's statement was started.
func (f *faultTracer) startsOf(token string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.starts[token]
}

// staleSeen is how many statements ended refused as stale.
func (f *faultTracer) staleSeen() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stale
}

// tracedSQL is the context key of a traced statement's SQL text.
type tracedSQL struct{}

func (f *faultTracer) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	token := ""
	if len(data.Args) > 0 {
		token, _ = data.Args[0].(string)
	}
	f.mu.Lock()
	f.starts[token]++
	hook := f.hook
	f.mu.Unlock()
	if hook != nil {
		hook(conn, data.SQL, token)
	}
	return context.WithValue(ctx, tracedSQL{}, data.SQL)
}

func (f *faultTracer) TraceQueryEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryEndData) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if pgerr.IsStalePlan(data.Err) {
		f.stale++
	}
	if sql, ok := ctx.Value(tracedSQL{}).(string); ok && data.Err == nil && conn != nil {
		if f.ran[conn.PgConn()] == nil {
			f.ran[conn.PgConn()] = map[string]bool{}
		}
		f.ran[conn.PgConn()][sql] = true
	}
}

// onceFor returns a hook that runs fault once, on the first start of
// token's statement, with the proxy connection carrying it.
func onceFor(p *faultproxy.Proxy, token string, fault func(pc *faultproxy.Conn, conn *pgx.Conn)) func(*pgx.Conn, string, string) {
	var once sync.Once
	return func(conn *pgx.Conn, _, tok string) {
		if tok != token {
			return
		}
		once.Do(func() {
			if pc := proxyConnOf(p, conn); pc != nil {
				fault(pc, conn)
			}
		})
	}
}

// resetAndWait resets pc and waits (up to 10 s) until the reset reached
// conn's socket (TCP_INFO says closed; nothing is read from it), so that
// writing to it fails before any byte leaves.
func resetAndWait(pc *faultproxy.Conn, conn *pgx.Conn) error {
	pc.Reset()
	return waitSocketClosed(conn.PgConn().Conn())
}

// tcpClose is TCP_CLOSE of Linux's tcp_states.h: a socket that was reset.
const tcpClose = 7

// waitSocketClosed waits (up to 10 s) until nc's TCP state is CLOSE.
func waitSocketClosed(nc net.Conn) error {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return fmt.Errorf("%T has no socket", nc)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		var state uint8
		var serr error
		if err := rc.Control(func(fd uintptr) {
			var info *unix.TCPInfo
			info, serr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
			if serr == nil {
				state = info.State
			}
		}); err != nil {
			return err
		}
		if serr != nil {
			return serr
		}
		if state == tcpClose {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("socket still in TCP state %d 10s after the reset", state)
		}
		time.Sleep(time.Millisecond)
	}
}
