package faultproxy

import (
	"net"
	"sync"
	"time"
)

// Conn is one client connection being forwarded, and its own faults.
// Its methods are safe for concurrent use.
type Conn struct {
	p              *Proxy
	client, server *net.TCPConn

	mu      sync.Mutex
	f       faults
	budget  [2]int64      // per direction (dirIndex): bytes still forwarded before the connection closes; -1: no limit
	eofs    Direction     // directions whose sender has finished (half-closed)
	changed chan struct{} // closed and replaced whenever f or budget change

	done     chan struct{} // closed when the connection is torn down
	teardown sync.Once
}

// chunk is bytes read from one side, with the time they arrived.
type chunk struct {
	data []byte
	at   time.Time
}

// dirIndex maps ToServer and ToClient to 0 and 1.
func dirIndex(dir Direction) int {
	if dir == ToClient {
		return 1
	}
	return 0
}

// ClientAddr is the client's end of the connection, as the proxy sees it.
func (c *Conn) ClientAddr() string { return c.client.RemoteAddr().String() }

// ServerAddr is the proxy's own end of its connection to the target (the
// address the target sees as the client's).
func (c *Conn) ServerAddr() string { return c.server.LocalAddr().String() }

// Done is closed once the connection has been torn down, by either side,
// a fault or Close.
func (c *Conn) Done() <-chan struct{} { return c.done }

// SetLatency delays every byte of this connection by d in each direction
// (0: none).
func (c *Conn) SetLatency(d time.Duration) { c.change(func() { c.f.latency = d }) }

// Stall stops forwarding this connection's bytes in dir; it stays open.
func (c *Conn) Stall(dir Direction) { c.change(func() { c.f.stalled |= dir }) }

// Resume forwards this connection's bytes again in both directions.
func (c *Conn) Resume() { c.change(func() { c.f.stalled = 0 }) }

// Truncate lets the connection forward n more bytes in each direction of
// dir (counted apart), then closes it with a FIN to both sides, as a
// connection cut in the middle of a message. n = 0 closes it now.
func (c *Conn) Truncate(dir Direction, n int64) {
	if n <= 0 {
		c.Close()
		return
	}
	c.change(func() {
		for _, d := range []Direction{ToServer, ToClient} {
			if dir&d != 0 {
				c.budget[dirIndex(d)] = n
			}
		}
	})
}

// Reset aborts the connection with a TCP reset (SO_LINGER 0) to both
// sides; bytes the proxy holds are dropped.
func (c *Conn) Reset() { c.tearDown(true) }

// Close closes the connection with a FIN to both sides; bytes the proxy
// holds are dropped.
func (c *Conn) Close() { c.tearDown(false) }

// heal removes the connection's faults and pending truncations.
func (c *Conn) heal() {
	c.change(func() {
		c.f = faults{}
		c.budget = [2]int64{-1, -1}
	})
}

// change applies fn to the faults and wakes the forwarders to see it.
func (c *Conn) change(fn func()) {
	c.mu.Lock()
	fn()
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
}

// tearDown closes both sockets once, with a reset or a FIN; the
// goroutines of the connection then end.
func (c *Conn) tearDown(reset bool) {
	c.teardown.Do(func() {
		close(c.done)
		if reset {
			abort(c.client)
			abort(c.server)
		} else {
			_ = c.client.Close()
			_ = c.server.Close()
		}
		c.p.remove(c)
	})
}

// pipe forwards src's bytes to dst in direction dir until src ends or the
// connection is torn down: a goroutine reads (so that latency delays bytes
// without throttling them), this one writes when the faults allow.
func (c *Conn) pipe(dir Direction, src, dst *net.TCPConn) {
	defer c.p.wg.Done()
	chunks := make(chan chunk, queueChunks)
	go c.read(src, chunks)
	for {
		var ch chunk
		var ok bool
		select {
		case ch, ok = <-chunks:
		case <-c.done:
			return
		}
		if !ok { // src finished: pass the half-close on
			c.finished(dir, dst)
			return
		}
		if !c.wait(dir, ch.at) {
			return
		}
		data, last := c.take(dir, ch.data)
		if len(data) > 0 {
			if _, err := dst.Write(data); err != nil {
				c.Reset()
				return
			}
		}
		if last {
			c.Close()
			return
		}
	}
}

// read reads src into chunks until src ends (closing chunks) or fails
// (resetting the connection, as the peer did).
func (c *Conn) read(src *net.TCPConn, chunks chan<- chunk) {
	defer c.p.wg.Done()
	for {
		buf := make([]byte, chunkSize)
		n, err := src.Read(buf)
		if n > 0 {
			select {
			case chunks <- chunk{data: buf[:n], at: time.Now()}:
			case <-c.done:
				return
			}
		}
		if err != nil {
			if isEOF(err) {
				close(chunks)
			} else {
				c.Reset() // a reset by the peer, or our own teardown (then a no-op)
			}
			return
		}
	}
}

// wait holds a chunk that arrived at at until its direction is not stalled
// and the latency has passed; false when the connection was torn down.
func (c *Conn) wait(dir Direction, at time.Time) bool {
	for {
		c.mu.Lock()
		f, changed := c.f, c.changed
		c.mu.Unlock()
		var timer *time.Timer
		var fire <-chan time.Time
		switch {
		case f.stalled&dir != 0:
			// until a change
		case f.latency > 0 && time.Until(at.Add(f.latency)) > 0:
			timer = time.NewTimer(time.Until(at.Add(f.latency)))
			fire = timer.C
		default:
			return true
		}
		select {
		case <-changed:
		case <-fire:
		case <-c.done:
		}
		if timer != nil {
			timer.Stop()
		}
		select {
		case <-c.done:
			return false
		default:
		}
	}
}

// take returns the part of data that the truncation budget of dir lets
// through, and whether the connection must close after it.
func (c *Conn) take(dir Direction, data []byte) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := dirIndex(dir)
	b := c.budget[i]
	if b < 0 {
		return data, false
	}
	if int64(len(data)) >= b {
		c.budget[i] = 0
		return data[:b], true
	}
	c.budget[i] = b - int64(len(data))
	return data, false
}

// finished half-closes dst after its sender ended; once both directions
// have, the connection is closed.
func (c *Conn) finished(dir Direction, dst *net.TCPConn) {
	_ = dst.CloseWrite()
	c.mu.Lock()
	c.eofs |= dir
	both := c.eofs == Both
	c.mu.Unlock()
	if both {
		c.Close()
	}
}
