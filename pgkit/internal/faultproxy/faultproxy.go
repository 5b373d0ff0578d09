// Package faultproxy is a TCP proxy for tests that injects network faults
// between a client and a server while they talk: added latency, stalls
// (bytes stop flowing in one or both directions while the connections
// stay open), truncation (a few more bytes, then the connection closes),
// resets (RST) and refused connections, on one connection or on all of
// them, switched at run time.
//
//	p, err := faultproxy.Start(serverAddr) // listens on 127.0.0.1:0
//	defer p.Close()                         // stops every goroutine it started
//	dsn := "postgres://…@" + p.Addr() + "/…"
//	p.Stall(faultproxy.ToClient)            // the answers stop coming
//	p.Heal()
//
// It is hand-written: Shopify's toxiproxy, the well-known one, is a server
// driven over HTTP whose Go module brings a web framework, metrics and a
// logger with it, for what is here a few hundred lines on package net that
// a test starts and stops in-process.
package faultproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Direction is which way bytes flow through the proxy.
type Direction uint8

// The directions.
const (
	// ToServer is the client's bytes on their way to the target.
	ToServer Direction = 1 << iota
	// ToClient is the target's bytes on their way to the client.
	ToClient
	// Both is either way.
	Both = ToServer | ToClient
)

const (
	// chunkSize is the most one read forwards at once.
	chunkSize = 32 << 10
	// queueChunks is how many chunks read but not yet written one
	// direction of a connection holds: the proxy's own buffer (512 KiB),
	// which lets latency delay bytes without cutting throughput to one
	// chunk per delay.
	queueChunks = 16
	// socketBuffer is the kernel's send and receive buffer of the proxy's
	// sockets. Set, it stops Linux from growing them (to tens of MB on
	// loopback), so that the proxy adds little buffering to the path: a
	// client and server that would deadlock with full buffers talking
	// directly deadlock through the proxy too, at about the same sizes.
	socketBuffer = 256 << 10
	// dialTimeout bounds connecting to the target for a new client.
	dialTimeout = 5 * time.Second
)

// faults is what slows or stops the bytes of one connection.
type faults struct {
	latency time.Duration // added to every byte's way, in each direction
	stalled Direction     // directions in which nothing is forwarded
}

// Proxy forwards the connections it accepts on 127.0.0.1 to its target,
// with the faults it is told to inject. Its methods are safe for
// concurrent use.
type Proxy struct {
	target string
	ln     net.Listener
	ctx    context.Context // ends with Close: dials in progress stop
	cancel context.CancelFunc

	mu       sync.Mutex
	conns    map[*Conn]struct{}
	defaults faults // what new connections start with
	refuse   bool
	closed   bool

	wg       sync.WaitGroup // every goroutine the proxy started
	accepted atomic.Int64
	refused  atomic.Int64
}

// Start listens on a free port of 127.0.0.1 and forwards every connection
// to target (host:port). Close it when done.
func Start(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Proxy{target: target, ln: ln, ctx: ctx, cancel: cancel, conns: map[*Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the proxy's address, 127.0.0.1:port: what clients dial instead
// of the target.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Target is the address connections are forwarded to.
func (p *Proxy) Target() string { return p.target }

// Stats counts the proxy's connections.
type Stats struct {
	Accepted int64 // connections accepted, refused ones included
	Refused  int64 // of them, closed at once (Refuse, or the target unreachable)
	Active   int   // forwarding now
}

// Stats reports the proxy's connection counts.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Stats{Accepted: p.accepted.Load(), Refused: p.refused.Load(), Active: len(p.conns)}
}

// Conns lists the connections being forwarded now, for faults aimed at one
// of them.
func (p *Proxy) Conns() []*Conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*Conn, 0, len(p.conns))
	for c := range p.conns {
		out = append(out, c)
	}
	return out
}

// SetLatency delays every byte by d in each direction, on every connection
// now and to come (0: none). Bytes are delayed, not throttled: a transfer
// takes d longer, not d per chunk.
func (p *Proxy) SetLatency(d time.Duration) {
	for _, c := range p.setDefaults(func(f *faults) { f.latency = d }) {
		c.SetLatency(d)
	}
}

// Stall stops forwarding in dir on every connection now and to come; the
// connections stay open, and what is sent meanwhile waits in the proxy and
// the kernel's buffers until Resume or Heal.
func (p *Proxy) Stall(dir Direction) {
	for _, c := range p.setDefaults(func(f *faults) { f.stalled |= dir }) {
		c.Stall(dir)
	}
}

// Resume ends the stalls of every connection, and of connections to come.
func (p *Proxy) Resume() {
	for _, c := range p.setDefaults(func(f *faults) { f.stalled = 0 }) {
		c.Resume()
	}
}

// Truncate lets every connection open now forward n more bytes in each
// direction of dir, then closes it (see Conn.Truncate).
func (p *Proxy) Truncate(dir Direction, n int64) {
	for _, c := range p.Conns() {
		c.Truncate(dir, n)
	}
}

// Reset aborts every connection open now with a TCP reset to both sides,
// and returns how many there were.
func (p *Proxy) Reset() int {
	conns := p.Conns()
	for _, c := range conns {
		c.Reset()
	}
	return len(conns)
}

// Refuse makes the proxy reset the connections it accepts from now on,
// before any byte reaches the target (on), or forward them again (off).
func (p *Proxy) Refuse(on bool) {
	p.mu.Lock()
	p.refuse = on
	p.mu.Unlock()
}

// Heal removes every fault: latency, stalls, pending truncations and
// refusal, on every connection now and to come.
func (p *Proxy) Heal() {
	p.mu.Lock()
	p.refuse = false
	p.mu.Unlock()
	for _, c := range p.setDefaults(func(f *faults) { *f = faults{} }) {
		c.heal()
	}
}

// setDefaults changes what new connections start with and returns the
// connections open now.
func (p *Proxy) setDefaults(change func(*faults)) []*Conn {
	p.mu.Lock()
	change(&p.defaults)
	p.mu.Unlock()
	return p.Conns()
}

// Close stops accepting, closes every connection and returns once every
// goroutine the proxy started has ended.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	p.cancel()
	err := p.ln.Close()
	for _, c := range p.Conns() {
		c.Close()
	}
	p.wg.Wait()
	if err != nil {
		return fmt.Errorf("faultproxy: close listener: %w", err)
	}
	return nil
}

// accept takes new connections until the listener closes.
func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		nc, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || p.ctx.Err() != nil {
				return
			}
			// Out of file descriptors and the like: try again shortly
			// rather than spin or give up.
			select {
			case <-p.ctx.Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		p.accepted.Add(1)
		client := nc.(*net.TCPConn)
		p.mu.Lock()
		refuse := p.refuse || p.closed
		p.mu.Unlock()
		if refuse {
			p.refused.Add(1)
			abort(client)
			continue
		}
		p.wg.Add(1)
		go p.connect(client)
	}
}

// connect dials the target for client and starts forwarding; when the
// target cannot be reached, client is reset, as it would be by a server
// that is down.
func (p *Proxy) connect(client *net.TCPConn) {
	defer p.wg.Done()
	ctx, cancel := context.WithTimeout(p.ctx, dialTimeout)
	var d net.Dialer
	sc, err := d.DialContext(ctx, "tcp", p.target)
	cancel()
	if err != nil {
		p.refused.Add(1)
		abort(client)
		return
	}
	server := sc.(*net.TCPConn)
	for _, tc := range []*net.TCPConn{client, server} {
		_ = tc.SetReadBuffer(socketBuffer)
		_ = tc.SetWriteBuffer(socketBuffer)
	}
	c := &Conn{p: p, client: client, server: server, changed: make(chan struct{}), done: make(chan struct{}), budget: [2]int64{-1, -1}}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		abort(client)
		abort(server)
		return
	}
	c.f = p.defaults
	p.conns[c] = struct{}{}
	p.mu.Unlock()
	p.wg.Add(4)
	go c.pipe(ToServer, client, server)
	go c.pipe(ToClient, server, client)
}

// remove forgets a connection that has been torn down.
func (p *Proxy) remove(c *Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// abort closes conn with a TCP reset instead of an orderly FIN.
func abort(conn *net.TCPConn) {
	_ = conn.SetLinger(0)
	_ = conn.Close()
}

// isEOF reports an orderly end of the peer's bytes.
func isEOF(err error) bool { return errors.Is(err, io.EOF) }
