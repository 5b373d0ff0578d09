package pgkit_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sys/unix"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

func TestOpenRejectsBadConnectionStrings(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-Pw"
	for _, dsn := range []string{
		"postgres://bob:" + secret + "@localhost:notaport/app",
		"postgres://bob:" + secret + "@localhost:5432/app?sslmode=sometimes",
		"host=localhost password=" + secret + " sslmode=sometimes",
		"postgres://bob:" + secret + "@[::1/app",
		// pgx's own redaction stops short in these: the tail of the
		// password stayed in the message.
		"host=127.0.0.1 password='Wr0ng " + secret,
		"host=127.0.0.1 password='Wr0ng\\' " + secret + "' sslmode=bogus",
		"postgres://bob:Wr0ng@" + secret + "@127.0.0.1:5432/x?sslmode=bogus",
	} {
		_, err := pgkit.Open(context.Background(), dsn, pgkit.Config{})
		if err == nil {
			t.Errorf("Open(%q) succeeded, want an error", strings.ReplaceAll(dsn, secret, "…"))
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error leaks the password: %v", err)
		}
		if !strings.Contains(err.Error(), "invalid connection string") {
			t.Errorf("error %q does not say the connection string is invalid", err)
		}
	}
	if _, err := pgkit.Open(context.Background(), " ", pgkit.Config{}); err == nil || !strings.Contains(err.Error(), "DATABASE_URL") {
		t.Errorf("empty DSN: error = %v, want one naming DATABASE_URL", err)
	}
	// A parameter given twice: pgx would keep the first, libpq the last.
	twice := "postgres://bob:" + secret + "@127.0.0.1:1/app?sslmode=require&application_name=a&sslmode=" + secret + "&application_name=b"
	_, err := pgkit.Open(context.Background(), twice, pgkit.Config{})
	if err == nil || !strings.Contains(err.Error(), "application_name, sslmode given more than once") || strings.Contains(err.Error(), secret) {
		t.Errorf("repeated parameters: error = %v, want one naming both keys and not their values", err)
	}
	if _, err := pgkit.ParseConfig("postgres://bob@127.0.0.1:1/app?pgkit_multiplex=true&pgkit_multiplex=false", pgkit.Config{}); err == nil || !strings.Contains(err.Error(), "pgkit_multiplex given more than once") {
		t.Errorf("repeated pgkit key: error = %v", err)
	}
	// The same in key=value form; a key inside a quoted value is not one.
	kv := "host=127.0.0.1 port=1 password=" + secret + " sslmode=disable password = 'other " + secret + "' sslmode=require"
	if _, err := pgkit.ParseConfig(kv, pgkit.Config{}); err == nil || !strings.Contains(err.Error(), "password, sslmode given more than once") || strings.Contains(err.Error(), secret) {
		t.Errorf("repeated key=value parameters: error = %v, want one naming both keys and not their values", err)
	}
	quoted := `host=127.0.0.1 port=1 password='a sslmode=x \' b' application_name=x sslmode=disable`
	if _, err := pgkit.ParseConfig(quoted, pgkit.Config{}); err != nil {
		t.Errorf("a key inside a quoted value taken for a key: %v", err)
	}
}

func TestOpenUnreachableServerFailsFast(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-Pw"
	// A port that accepts TCP but never speaks PostgreSQL: the worst case, a
	// server that hangs rather than refuses.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()

	for _, addr := range []string{l.Addr().String(), closedAddr} {
		start := time.Now()
		_, err := pgkit.Open(context.Background(), "postgres://bob:"+secret+"@"+addr+"/app?sslmode=disable", pgkit.Config{ConnectTimeout: time.Second})
		if err == nil {
			t.Fatalf("Open on %s succeeded", addr)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("Open on %s took %s to fail, want about the 1s connect timeout", addr, took)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error leaks the password: %v", err)
		}
		if !strings.Contains(err.Error(), addr[strings.LastIndex(addr, ":")+1:]) {
			t.Errorf("error %q does not name the server", err)
		}
	}
}

func TestOpenAppliesConfig(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base := os.Getenv("DATABASE_URL")
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	pool, err := pgkit.Open(ctx, base+sep+"pool_max_conns=3", pgkit.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if got := pool.Stats().MaxConns; got != 3 {
		t.Errorf("MaxConns = %d, want 3 from the DSN", got)
	}
	var app string
	if err := pool.QueryRow(ctx, "SHOW application_name").Scan(&app); err != nil || app != filepath.Base(os.Args[0]) || app != pgkit.DefaultApplicationName() {
		t.Errorf("application_name = %q (%v), want the test binary's name %q", app, err, filepath.Base(os.Args[0]))
	}

	pool2, err := pgkit.Open(ctx, base+sep+"pool_max_conns=3&application_name=billing", pgkit.Config{MaxConns: 7})
	if err != nil {
		t.Fatal(err)
	}
	defer pool2.Close()
	if got := pool2.Stats().MaxConns; got != 7 {
		t.Errorf("MaxConns = %d, want 7 from PoolConfig over the DSN", got)
	}
	if err := pool2.QueryRow(ctx, "SHOW application_name").Scan(&app); err != nil || app != "billing" {
		t.Errorf("application_name = %q (%v), want the DSN's billing", app, err)
	}
}

// TestPoolExhaustion puts 10 times more callers than connections on a pool
// with a short acquire timeout: each either runs or gets ErrPoolExhausted
// in about the timeout, never hangs until its own deadline, and nothing leaks.
func TestPoolExhaustion(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const conns, callers = 3, 30
	const timeout = 150 * time.Millisecond
	d := pgkittest.NewWithConfig(t, kitdb.Migrations(), pgkit.Config{MaxConns: conns, AcquireTimeout: timeout})
	// Open all three connections first: a connection opened during the
	// test may take longer than the 150 ms timeout on a loaded machine (or
	// with scram), and then fewer than three callers would succeed.
	var warm []*pgxpool.Conn
	for range conns {
		c, err := d.Pool().Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		warm = append(warm, c)
	}
	for _, c := range warm {
		c.Release()
	}

	type result struct {
		err  error
		took time.Duration
	}
	results := make(chan result, callers)
	var start sync.WaitGroup
	start.Add(1)
	for range callers {
		go func() {
			start.Wait()
			t0 := time.Now()
			_, err := d.Exec(ctx, "SELECT pg_sleep(0.5)")
			results <- result{err, time.Since(t0)}
		}()
	}
	start.Done()
	ok, exhausted := 0, 0
	for range callers {
		r := <-results
		switch {
		case r.err == nil:
			ok++
		case errors.Is(r.err, pgkit.ErrPoolExhausted):
			exhausted++
			var pe *pgkit.PoolExhaustedError
			if !errors.As(r.err, &pe) || pe.MaxConns != conns || !strings.Contains(r.err.Error(), "of 3 in use") {
				t.Errorf("exhaustion error %q lacks the pool's occupancy", r.err)
			}
			if r.took > timeout+10*time.Second { // a hang, not a slow machine
				t.Errorf("a caller waited %s for ErrPoolExhausted, want about %s", r.took, timeout)
			}
		default:
			t.Errorf("caller failed with %v, want success or ErrPoolExhausted", r.err)
		}
	}
	if ok < conns || exhausted == 0 || ok+exhausted != callers {
		t.Fatalf("%d succeeded, %d exhausted of %d callers; want at least %d successes and some exhausted", ok, exhausted, callers, conns)
	}
	st := d.Stats()
	if st.Exhausted != int64(exhausted) || st.MaxConns != conns {
		t.Errorf("stats %s: want %d exhausted", st, exhausted)
	}
	t.Logf("%d ok, %d exhausted; %s", ok, exhausted, st)

	// pgxpool counted each of our timeouts as a canceled acquire: Stats
	// must not count them twice.
	if st.Canceled != 0 {
		t.Errorf("stats %s: %d acquires counted as canceled, want 0 (no caller's context ended)", st, st.Canceled)
	}
	// Nothing leaks: every connection comes back (pgkittest also checks at
	// the end of the test). Goroutine counts are process-wide and not
	// looked at in a parallel test.
	deadline := time.Now().Add(5 * time.Second)
	for d.Stats().InUse != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := d.Stats().InUse; n != 0 {
		t.Errorf("%d connections still in use", n)
	}
}

// TestTCPUserTimeoutReachesTheSocket: Config.TCPUserTimeout is set on the
// pool's sockets (read back with getsockopt), so a vanished server host
// fails queries after it rather than after the kernel's retransmissions.
func TestTCPUserTimeoutReachesTheSocket(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("TCP_USER_TIMEOUT is Linux's")
	}
	t.Parallel()
	ctx := context.Background()
	d := pgkittest.NewWithConfig(t, kitdb.Migrations(), pgkit.Config{MaxConns: 1, TCPUserTimeout: 2500 * time.Millisecond})
	c, err := d.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := c.Conn().PgConn().Conn().(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var got int
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		got, gerr = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT)
	}); err != nil || gerr != nil {
		t.Fatal(err, gerr)
	}
	c.Release()
	if got != 2500 {
		t.Fatalf("TCP_USER_TIMEOUT on the socket = %d ms, want 2500", got)
	}
	if _, err := kitdb.New(d).AccountList(ctx, kitdb.AccountListParams{Max: 1}); err != nil {
		t.Fatal(err)
	}
}

// TestPgkitKeysInConnectionString: pgkit's own keys, pgbouncer and
// pgkit_multiplex, take the boolean values PostgreSQL does (true/false,
// on/off, yes/no, 1/0, any case), in URLs and key=value strings alike;
// any other value fails Open with an error that names the key and the
// accepted values, and never shows the password. Before, pgbouncer=yes
// and pgkit_multiplex=on were silently ignored, as were typos
// (pgbouncer=maybe).
func TestPgkitKeysInConnectionString(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-Pw"
	for _, c := range []struct {
		dsn  string
		want bool // a transaction pooler
	}{
		{"postgres://bob:" + secret + "@127.0.0.1/app?pgbouncer=true", true},
		{"postgres://bob:" + secret + "@127.0.0.1/app?pgbouncer=YES", true},
		{"postgres://bob:" + secret + "@127.0.0.1/app?pgbouncer=on", true},
		{"host=127.0.0.1 password=" + secret + " pgbouncer=1", true},
		{"postgres://bob:" + secret + "@127.0.0.1/app?pgbouncer=false", false},
		{"postgres://bob:" + secret + "@127.0.0.1/app?pgbouncer=no", false},
		{"host=127.0.0.1 password=" + secret + " pgbouncer=Off", false},
		{"postgres://bob:" + secret + "@127.0.0.1/app?pgbouncer=0", false},
	} {
		pcfg, err := pgkit.ParseConfig(c.dsn, pgkit.Config{})
		if err != nil {
			t.Errorf("%q: %v", strings.ReplaceAll(c.dsn, secret, "…"), err)
			continue
		}
		if got := pcfg.ConnConfig.DefaultQueryExecMode == pgx.QueryExecModeCacheDescribe; got != c.want {
			t.Errorf("%q: transaction pooler %v, want %v", strings.ReplaceAll(c.dsn, secret, "…"), got, c.want)
		}
		if _, sent := pcfg.ConnConfig.RuntimeParams["pgbouncer"]; sent {
			t.Errorf("%q: pgbouncer would be sent to the server", strings.ReplaceAll(c.dsn, secret, "…"))
		}
	}
	for _, dsn := range []string{
		"postgres://bob:" + secret + "@127.0.0.1/app?pgbouncer=maybe",
		"host=127.0.0.1 password=" + secret + " pgbouncer=maybe",
		"postgres://bob:" + secret + "@127.0.0.1/app?pgkit_multiplex=maybe",
		"host=127.0.0.1 password=" + secret + " pgkit_multiplex=maybe",
		"postgres://bob:" + secret + "@127.0.0.1/app?pgbouncer=" + secret,
	} {
		key := "pgbouncer"
		if strings.Contains(dsn, "pgkit_multiplex") {
			key = "pgkit_multiplex"
		}
		_, err := pgkit.ParseConfig(dsn, pgkit.Config{})
		switch {
		case err == nil:
			t.Errorf("ParseConfig(%q) succeeded, want an error", strings.ReplaceAll(dsn, secret, "…"))
		case strings.Contains(err.Error(), secret):
			t.Errorf("error leaks the password: %v", err)
		case !strings.Contains(err.Error(), key+"=") || !strings.Contains(err.Error(), "true or false") ||
			(strings.Contains(dsn, "maybe") && !strings.Contains(err.Error(), `"maybe"`)):
			t.Errorf("error %q does not name the key, its value and the accepted values", err)
		}
	}

	// pgkit_multiplex takes the same values.
	base := os.Getenv("DATABASE_URL")
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	for v, want := range map[string]bool{"on": true, "Yes": true, "1": true, "off": false, "no": false} {
		d, err := pgkit.Open(context.Background(), base+sep+"pgkit_multiplex="+v, pgkit.Config{})
		if err != nil {
			t.Errorf("pgkit_multiplex=%s: %v", v, err)
			continue
		}
		if d.Multiplexing() != want {
			t.Errorf("pgkit_multiplex=%s: multiplexing %v, want %v", v, d.Multiplexing(), want)
		}
		d.Close()
	}
}

// TestQueryRowHoldsItsConnectionUntilScanned pins what DB.QueryRow's
// documentation says, as pgx has it: the row's connection stays taken
// until Scan, which gives it back, also when the row is missing.
func TestQueryRowHoldsItsConnectionUntilScanned(t *testing.T) {
	ctx, d, _ := setup(t)
	for _, sql := range []string{"SELECT 1", "SELECT 1 WHERE false"} {
		row := d.QueryRow(ctx, sql)
		if n := d.Stats().InUse; n != 1 {
			t.Fatalf("%s: %d connections in use before Scan, want 1", sql, n)
		}
		var v int
		_ = row.Scan(&v)
		if n := d.Stats().InUse; n != 0 {
			t.Fatalf("%s: %d connections in use after Scan, want 0", sql, n)
		}
	}
}

// TestSupabasePoolerHostAnyCase: Supabase's transaction pooler is found
// whatever the case of its host name (host names are case-insensitive),
// and only on its transaction port.
func TestSupabasePoolerHostAnyCase(t *testing.T) {
	t.Parallel()
	for dsn, want := range map[string]bool{
		"postgres://u:pw@aws-0-eu.pooler.supabase.com:6543/postgres": true,
		"postgres://u:pw@AWS-0-EU.POOLER.SUPABASE.COM:6543/postgres": true,
		"postgres://u:pw@aws-0-eu.pooler.supabase.com:5432/postgres": false,
	} {
		pcfg, err := pgkit.ParseConfig(dsn, pgkit.Config{})
		if err != nil {
			t.Fatal(err)
		}
		if got := pcfg.ConnConfig.DefaultQueryExecMode == pgx.QueryExecModeCacheDescribe; got != want {
			t.Errorf("%s: transaction pooler %v, want %v", pcfg.ConnConfig.Host, got, want)
		}
	}
}

// TestOpenRefusesNegativeConfig: a negative value where a Config field has
// no meaning for one is an error naming the field, not a silent default.
func TestOpenRefusesNegativeConfig(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]pgkit.Config{
		"MaxConns":       {MaxConns: -3},
		"MultiplexDepth": {MultiplexDepth: -1},
		"MultiplexConns": {MultiplexConns: -1},
		"QueryTimeout":   {QueryTimeout: -1},
		"ConnectTimeout": {ConnectTimeout: -time.Second},
		"MinConns":       {MaxConns: 2, MinConns: 3},
	} {
		_, err := pgkit.ParseConfig("postgres://u@127.0.0.1:1/db", cfg)
		if err == nil || !strings.Contains(err.Error(), "Config."+name) {
			t.Errorf("%+v: %v, want an error naming Config.%s", cfg, err, name)
		}
	}
	if _, err := pgkit.ParseConfig("postgres://u@127.0.0.1:1/db", pgkit.Config{AcquireTimeout: -1}); err != nil {
		t.Errorf("a negative AcquireTimeout means no bound: %v", err)
	}
}
