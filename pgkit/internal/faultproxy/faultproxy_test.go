package faultproxy_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/shopdb/shopdb/pgkit/internal/faultproxy"
)

// hangGuard bounds every wait of these tests; it is never the expected
// outcome, so a busy machine cannot make a test fail by it.
const hangGuard = 10 * time.Second

// TestMain also fails the package when a test leaves a goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// server is a target that hands each accepted connection to the test.
type server struct {
	ln    net.Listener
	conns chan *net.TCPConn
	done  chan struct{}
}

// newServer listens on a free port of 127.0.0.1; the test's end closes
// it and every connection it accepted.
func newServer(t *testing.T) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{ln: ln, conns: make(chan *net.TCPConn, 16), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns <- c.(*net.TCPConn)
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-s.done
		close(s.conns)
		for c := range s.conns {
			_ = c.Close()
		}
	})
	return s
}

// next is the server's end of the next connection the proxy made.
func (s *server) next(t *testing.T) *net.TCPConn {
	t.Helper()
	select {
	case c := <-s.conns:
		t.Cleanup(func() { _ = c.Close() })
		return c
	case <-time.After(hangGuard):
		t.Fatal("no connection reached the server")
		return nil
	}
}

// none says whether no connection reaches the server within d.
func (s *server) none(d time.Duration) bool {
	select {
	case c := <-s.conns:
		_ = c.Close()
		return false
	case <-time.After(d):
		return true
	}
}

// start starts a proxy in front of s, closed at the test's end.
func start(t *testing.T, s *server) *faultproxy.Proxy {
	t.Helper()
	p, err := faultproxy.Start(s.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	})
	return p
}

// dial connects a client to the proxy and returns both ends.
func dial(t *testing.T, p *faultproxy.Proxy, s *server) (client, srv *net.TCPConn) {
	t.Helper()
	c, err := net.DialTimeout("tcp", p.Addr(), hangGuard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	srv = s.next(t)
	// The server may accept before the proxy has registered the
	// connection: wait until it is listed, so that faults reach it.
	for deadline := time.Now().Add(hangGuard); !listed(p, c.LocalAddr().String()); {
		if time.Now().After(deadline) {
			t.Fatal("the connection is not listed by the proxy")
		}
		time.Sleep(time.Millisecond)
	}
	return c.(*net.TCPConn), srv
}

// listed says whether the proxy forwards the client at addr.
func listed(p *faultproxy.Proxy, addr string) bool {
	for _, c := range p.Conns() {
		if c.ClientAddr() == addr {
			return true
		}
	}
	return false
}

// send writes b to c.
func send(t *testing.T, c net.Conn, b []byte) {
	t.Helper()
	_ = c.SetWriteDeadline(time.Now().Add(hangGuard))
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
}

// recv reads exactly n bytes from c.
func recv(t *testing.T, c net.Conn, n int) []byte {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(hangGuard))
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("read %d bytes: %v", n, err)
	}
	return b
}

// quiet says whether nothing arrives on c within d (the stall held).
func quiet(t *testing.T, c net.Conn, d time.Duration) bool {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	n, err := c.Read(make([]byte, 1))
	_ = c.SetReadDeadline(time.Time{})
	var ne net.Error
	return n == 0 && errors.As(err, &ne) && ne.Timeout()
}

// readAll reads c to its end and returns what came and how it ended.
func readAll(t *testing.T, c net.Conn) ([]byte, error) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(hangGuard))
	b, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the connection did not end (read %d bytes)", len(b))
	}
	return b, err
}

// TestForwardsBothWaysAndHalfCloses: bytes go through unchanged both
// ways, a large transfer included, and a client's half-close reaches the
// server, whose last bytes and close reach the client.
func TestForwardsBothWaysAndHalfCloses(t *testing.T) {
	s := newServer(t)
	p := start(t, s)
	c, sc := dial(t, p, s)
	send(t, c, []byte("hello"))
	if got := recv(t, sc, 5); string(got) != "hello" {
		t.Fatalf("server got %q", got)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB, more than the proxy buffers
	go func() { _, _ = sc.Write(big) }()
	if got := recv(t, c, len(big)); !bytes.Equal(got, big) {
		t.Fatal("the 4 MiB the server sent arrived changed")
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if rest, err := readAll(t, sc); err != nil || len(rest) != 0 {
		t.Fatalf("server after the client's half-close: %q, %v; want the end of the stream", rest, err)
	}
	send(t, sc, []byte("bye"))
	_ = sc.Close()
	if rest, err := readAll(t, c); err != nil || string(rest) != "bye" {
		t.Fatalf("client: %q, %v; want the server's last bytes then the end", rest, err)
	}
	waitActive(t, p, 0)
}

// waitActive waits until the proxy forwards n connections.
func waitActive(t *testing.T, p *faultproxy.Proxy, n int) {
	t.Helper()
	for deadline := time.Now().Add(hangGuard); p.Stats().Active != n; {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still forwarded, want %d", p.Stats().Active, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestLatencyDelaysEachDirection: with 100ms of latency a round trip
// takes at least 200ms (only the lower bound is asserted: load can make
// it slower, never faster), and after Heal bytes still flow.
func TestLatencyDelaysEachDirection(t *testing.T) {
	s := newServer(t)
	p := start(t, s)
	c, sc := dial(t, p, s)
	const d = 100 * time.Millisecond
	p.SetLatency(d)
	begin := time.Now()
	send(t, c, []byte("ping"))
	recv(t, sc, 4)
	oneWay := time.Since(begin)
	send(t, sc, []byte("pong"))
	recv(t, c, 4)
	if rtt := time.Since(begin); oneWay < d || rtt < 2*d {
		t.Fatalf("one way %s, round trip %s; want at least %s and %s", oneWay, rtt, d, 2*d)
	}
	// A connection made later starts with the proxy's latency too.
	c2, sc2 := dial(t, p, s)
	begin = time.Now()
	send(t, c2, []byte("x"))
	recv(t, sc2, 1)
	if took := time.Since(begin); took < d {
		t.Fatalf("a new connection's bytes took %s, want at least %s", took, d)
	}
	p.Heal()
	send(t, c, []byte("again"))
	recv(t, sc, 5)
}

// TestStallKeepsConnectionsOpen: a stall in one direction holds that
// direction's bytes (the other still flows) without closing anything;
// Resume delivers what was held, in order.
func TestStallKeepsConnectionsOpen(t *testing.T) {
	s := newServer(t)
	p := start(t, s)
	c, sc := dial(t, p, s)

	p.Stall(faultproxy.ToServer)
	send(t, c, []byte("held"))
	if !quiet(t, sc, 300*time.Millisecond) {
		t.Fatal("bytes reached the server through a stall")
	}
	send(t, sc, []byte("free"))
	if got := recv(t, c, 4); string(got) != "free" {
		t.Fatalf("client got %q through the open direction", got)
	}
	p.Resume()
	if got := recv(t, sc, 4); string(got) != "held" {
		t.Fatalf("after Resume the server got %q, want the held bytes", got)
	}

	p.Stall(faultproxy.Both)
	send(t, sc, []byte("late"))
	send(t, c, []byte("also"))
	if !quiet(t, c, 200*time.Millisecond) || !quiet(t, sc, 200*time.Millisecond) {
		t.Fatal("bytes went through a stall of both directions")
	}
	p.Heal()
	if got := recv(t, c, 4); string(got) != "late" {
		t.Fatalf("client got %q after Heal", got)
	}
	if got := recv(t, sc, 4); string(got) != "also" {
		t.Fatalf("server got %q after Heal", got)
	}
}

// TestFaultsOfOneConnection: a stall, latency or reset aimed at one
// connection leaves the others alone.
func TestFaultsOfOneConnection(t *testing.T) {
	s := newServer(t)
	p := start(t, s)
	a, sa := dial(t, p, s)
	b, sb := dial(t, p, s)
	conns := p.Conns()
	if len(conns) != 2 {
		t.Fatalf("%d connections listed, want 2", len(conns))
	}
	var ca *faultproxy.Conn
	for _, c := range conns {
		if c.ClientAddr() == a.LocalAddr().String() {
			ca = c
		}
	}
	if ca == nil {
		t.Fatal("the first client's connection is not listed")
	}
	ca.Stall(faultproxy.Both)
	send(t, a, []byte("a"))
	send(t, b, []byte("b"))
	if got := recv(t, sb, 1); string(got) != "b" {
		t.Fatalf("the other connection got %q", got)
	}
	if !quiet(t, sa, 200*time.Millisecond) {
		t.Fatal("the stalled connection forwarded")
	}
	ca.Reset()
	if _, err := readAll(t, a); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("client of the reset connection: %v, want ECONNRESET", err)
	}
	select {
	case <-ca.Done():
	case <-time.After(hangGuard):
		t.Fatal("Done not closed after Reset")
	}
	send(t, sb, []byte("still"))
	if got := recv(t, b, 5); string(got) != "still" {
		t.Fatalf("the other connection got %q after the reset", got)
	}
	waitActive(t, p, 1)
}

// TestTruncate: n more bytes pass in the direction asked for, then both
// sides see the connection end; n = 0 ends it at once.
func TestTruncate(t *testing.T) {
	s := newServer(t)
	p := start(t, s)

	c, sc := dial(t, p, s)
	p.Truncate(faultproxy.ToClient, 5)
	send(t, sc, bytes.Repeat([]byte("z"), 100))
	if got, err := readAll(t, c); err != nil || string(got) != "zzzzz" {
		t.Fatalf("client got %q, %v; want 5 bytes and the end", got, err)
	}
	if rest, _ := readAll(t, sc); len(rest) != 0 {
		t.Fatalf("server got %q after the truncation", rest)
	}

	c, sc = dial(t, p, s)
	p.Truncate(faultproxy.ToServer, 3)
	send(t, c, []byte("0123456789"))
	if got, err := readAll(t, sc); err != nil || string(got) != "012" {
		t.Fatalf("server got %q, %v; want 3 bytes and the end", got, err)
	}

	c, sc = dial(t, p, s)
	p.Truncate(faultproxy.Both, 0)
	if got, err := readAll(t, c); err != nil || len(got) != 0 {
		t.Fatalf("client after Truncate(0): %q, %v; want the end", got, err)
	}
	if got, _ := readAll(t, sc); len(got) != 0 {
		t.Fatalf("server after Truncate(0): %q", got)
	}

	// A truncation pending when Heal comes is called off.
	c, sc = dial(t, p, s)
	p.Truncate(faultproxy.Both, 2)
	p.Heal()
	send(t, c, []byte("whole"))
	if got := recv(t, sc, 5); string(got) != "whole" {
		t.Fatalf("server got %q after Heal", got)
	}
}

// TestResetAll: Reset aborts every connection with an RST on both sides.
func TestResetAll(t *testing.T) {
	s := newServer(t)
	p := start(t, s)
	c1, s1 := dial(t, p, s)
	c2, s2 := dial(t, p, s)
	if n := p.Reset(); n != 2 {
		t.Fatalf("Reset aborted %d connections, want 2", n)
	}
	for i, c := range []net.Conn{c1, c2, s1, s2} {
		if _, err := readAll(t, c); !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("end %d: %v, want ECONNRESET", i, err)
		}
	}
	waitActive(t, p, 0)
}

// TestRefuse: while refusing, new connections are reset before reaching
// the server and open ones keep working; afterwards new ones go through.
func TestRefuse(t *testing.T) {
	s := newServer(t)
	p := start(t, s)
	c, sc := dial(t, p, s)
	p.Refuse(true)
	r, err := net.DialTimeout("tcp", p.Addr(), hangGuard)
	if err == nil {
		defer r.Close()
		if _, err := readAll(t, r); err == nil {
			t.Fatal("a connection made while refusing was not reset")
		}
	}
	if !s.none(200 * time.Millisecond) {
		t.Fatal("a refused connection reached the server")
	}
	send(t, c, []byte("open"))
	if got := recv(t, sc, 4); string(got) != "open" {
		t.Fatalf("the open connection got %q while refusing", got)
	}
	p.Refuse(false)
	c2, sc2 := dial(t, p, s)
	send(t, c2, []byte("new"))
	if got := recv(t, sc2, 3); string(got) != "new" {
		t.Fatalf("a new connection got %q after refusing", got)
	}
	if st := p.Stats(); st.Refused != 1 || st.Accepted != 3 {
		t.Fatalf("stats %+v, want 3 accepted and 1 refused", st)
	}
}

// TestTargetDown: a client whose target cannot be reached is reset.
func TestTargetDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens on addr now
	p, err := faultproxy.Start(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.DialTimeout("tcp", p.Addr(), hangGuard)
	if err == nil { // the reset may come before the dial returns, or after
		defer c.Close()
		_, err = readAll(t, c)
	}
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("client of an unreachable target: %v, want ECONNRESET", err)
	}
}

// TestCloseStopsEverything: Close ends every connection, stalled ones
// included, and every goroutine the proxy started (goleak).
func TestCloseStopsEverything(t *testing.T) {
	s := newServer(t)
	before := goleak.IgnoreCurrent()
	p, err := faultproxy.Start(s.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	var clients []net.Conn
	for i := range 4 {
		c, err := net.DialTimeout("tcp", p.Addr(), hangGuard)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		sc := s.next(t)
		if i%2 == 0 {
			send(t, c, []byte("x"))
			recv(t, sc, 1)
		}
		clients = append(clients, c)
	}
	p.Stall(faultproxy.Both)
	send(t, clients[0], bytes.Repeat([]byte("q"), 1<<20)) // held in the proxy's buffers
	p.SetLatency(time.Hour)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	for i, c := range clients {
		if _, err := readAll(t, c); err != nil && !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("client %d after Close: %v", i, err)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := goleak.Find(before); err != nil {
		t.Fatal(err)
	}
}
