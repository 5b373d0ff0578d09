package main

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
)

// cutProxy forwards connections from a port of 127.0.0.1 to a PostgreSQL
// server and cuts them on demand, the way a failover or a network fault
// does: no error message from the server, the client's socket just ends.
// It is the test's own (pgkit/internal/faultproxy is internal to pgkit);
// it reads the protocol's message frames only, to find a COMMIT and the
// server's answers to it.
type cutProxy struct {
	ln     net.Listener
	target string
	// cutOnCommit makes each connection that forwards a COMMIT end for
	// its client at once, while the server gets the COMMIT whole and
	// runs it: its answers are read and dropped, and the server's side is
	// closed after them (so the COMMIT surely ran: the order is stored).
	cutOnCommit atomic.Bool
	commits     atomic.Int32 // connections cut after a COMMIT

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// startCutProxy listens on a free port of 127.0.0.1 for the server of
// dsn; the test's cleanup closes it and every connection.
func startCutProxy(t *testing.T, dsn string) *cutProxy {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: u.Host, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		_ = ln.Close()
		p.cutAll()
		p.wg.Wait()
	})
	return p
}

// url is dsn with the proxy's address in place of the server's, without
// TLS: the proxy reads the messages' frames.
func (p *cutProxy) url(t *testing.T, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = p.ln.Addr().String()
	q := u.Query()
	q.Set("sslmode", "disable")
	u.RawQuery = q.Encode()
	return u.String()
}

// proxied is one connection through the proxy.
type proxied struct {
	client, server net.Conn
	mu             sync.Mutex
	dropping       bool // the client was cut after a COMMIT: the server's answers are dropped
	awaitReady     int  // ReadyForQuery answers still to come before the server's side is closed
}

func (p *cutProxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = client.Close()
			continue
		}
		c := &proxied{client: client, server: server}
		p.track(client, server)
		p.wg.Add(2)
		go func() {
			defer p.wg.Done()
			if cutServer := p.forwardClient(c); cutServer {
				p.cut(client, server)
			}
		}()
		go func() {
			defer p.wg.Done()
			p.forwardServer(c)
			p.cut(client, server)
		}()
	}
}

func (p *cutProxy) track(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
}

// cut closes sides of proxied connections.
func (p *cutProxy) cut(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		_ = c.Close()
		delete(p.conns, c)
	}
}

// cutAll ends every proxied connection now.
func (p *cutProxy) cutAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		_ = c.Close()
		delete(p.conns, c)
	}
}

// forwardClient copies the client's bytes to the server chunk by chunk.
// With cutOnCommit, after a chunk that holds a COMMIT it cuts the client
// only and reports that the server's side stays open for forwardServer
// to close after the answers.
func (p *cutProxy) forwardClient(c *proxied) (cutServer bool) {
	var msgs frontendMessages
	buf := make([]byte, 64<<10)
	for {
		n, err := c.client.Read(buf)
		if n > 0 {
			commit, syncs := msgs.feed(buf[:n])
			cutting := commit && p.cutOnCommit.Load()
			if cutting {
				c.mu.Lock()
				c.dropping, c.awaitReady = true, syncs
				c.mu.Unlock()
			}
			if _, werr := c.server.Write(buf[:n]); werr != nil {
				return true
			}
			if cutting {
				p.commits.Add(1)
				p.cut(c.client)
				return false
			}
		}
		if err != nil {
			return true
		}
	}
}

// forwardServer copies the server's bytes to the client until either
// side ends, or, once the client was cut after a COMMIT, drops them until
// the server has answered every query and Sync of that chunk.
func (p *cutProxy) forwardServer(c *proxied) {
	var msgs backendMessages
	buf := make([]byte, 64<<10)
	for {
		n, err := c.server.Read(buf)
		if n > 0 {
			ready := msgs.feed(buf[:n])
			c.mu.Lock()
			dropping := c.dropping
			c.awaitReady -= ready
			answered := c.awaitReady <= 0
			c.mu.Unlock()
			switch {
			case dropping && answered:
				return
			case !dropping:
				if _, werr := c.client.Write(buf[:n]); werr != nil {
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}

// frontendMessages follows the client's messages of one connection: the
// untyped startup packets (SSLRequest, GSSENCRequest, StartupMessage),
// then typed messages.
type frontendMessages struct {
	pending []byte
	started bool
}

// feed takes the next bytes and reports whether a complete message among
// them is a COMMIT (a simple Query or an extended-protocol Parse of COMMIT
// or END, in any case, with or without a semicolon), and how many of them
// are answered by a ReadyForQuery (Query and Sync).
func (m *frontendMessages) feed(b []byte) (commit bool, syncs int) {
	m.pending = append(m.pending, b...)
	for {
		if !m.started {
			if len(m.pending) < 8 {
				return commit, syncs
			}
			n := int(binary.BigEndian.Uint32(m.pending))
			if len(m.pending) < n {
				return commit, syncs
			}
			code := binary.BigEndian.Uint32(m.pending[4:])
			m.started = code != 80877103 && code != 80877104 // SSL and GSS requests come before the startup message
			m.pending = m.pending[n:]
			continue
		}
		if len(m.pending) < 5 {
			return commit, syncs
		}
		n := 1 + int(binary.BigEndian.Uint32(m.pending[1:]))
		if len(m.pending) < n {
			return commit, syncs
		}
		msg := m.pending[5:n]
		switch m.pending[0] {
		case 'Q': // query string
			commit = commit || isCommit(msg)
			syncs++
		case 'S':
			syncs++
		case 'P': // statement name, query string, …
			if i := bytes.IndexByte(msg, 0); i >= 0 {
				commit = commit || isCommit(msg[i+1:])
			}
		}
		m.pending = m.pending[n:]
	}
}

// isCommit reports a NUL-terminated query string that is COMMIT or END.
func isCommit(q []byte) bool {
	if i := bytes.IndexByte(q, 0); i >= 0 {
		q = q[:i]
	}
	q = bytes.ToLower(bytes.TrimRight(bytes.TrimSpace(q), ";"))
	return bytes.Equal(q, []byte("commit")) || bytes.Equal(q, []byte("end"))
}

// backendMessages follows the server's typed messages of one connection
// (url sets sslmode=disable: no one-byte answer to an SSLRequest comes
// first).
type backendMessages struct{ pending []byte }

// feed takes the next bytes and reports how many complete ReadyForQuery
// messages were among them.
func (m *backendMessages) feed(b []byte) (ready int) {
	m.pending = append(m.pending, b...)
	for len(m.pending) >= 5 {
		n := 1 + int(binary.BigEndian.Uint32(m.pending[1:]))
		if len(m.pending) < n {
			break
		}
		if m.pending[0] == 'Z' {
			ready++
		}
		m.pending = m.pending[n:]
	}
	return ready
}
