//go:build unix

package mux

import (
	"net"
	"syscall"
)

// rawConn is conn's file descriptor, for writes that never wait (see
// tryWrite); nil when conn has none of its own (a TLS connection).
func rawConn(conn net.Conn) syscall.RawConn {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return raw
}

// directWrite writes what of a buffer the socket takes without waiting
// (the descriptor is non-blocking, as every one of Go's net package is).
// net.Conn has no write that gives up when it would block, hence the
// system call. One per writer, made once: the function given to
// RawConn.Write is not a closure made per write (an allocation each).
type directWrite struct {
	raw syscall.RawConn
	buf []byte
	n   int
	err error
	fn  func(fd uintptr) bool
}

func newDirectWrite(raw syscall.RawConn) *directWrite {
	d := &directWrite{raw: raw}
	d.fn = d.write
	return d
}

// try writes what of buf the socket takes now and returns how much that
// was.
func (d *directWrite) try(buf []byte) (int, error) {
	d.buf, d.n, d.err = buf, 0, nil
	err := d.raw.Write(d.fn)
	n := d.n
	if err == nil {
		err = d.err
	}
	d.buf, d.err = nil, nil
	return n, err
}

func (d *directWrite) write(fd uintptr) bool {
	for d.n < len(d.buf) {
		k, e := syscall.Write(int(fd), d.buf[d.n:])
		switch {
		case e == syscall.EINTR: // a syscall.Errno, never wrapped
			continue
		case e == syscall.EAGAIN:
			return true // would block: the rest goes to the writer's goroutine
		case e != nil:
			d.err = e
			return true
		case k <= 0:
			return true
		}
		d.n += k
	}
	return true
}
