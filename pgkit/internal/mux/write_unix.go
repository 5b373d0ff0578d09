//go:build unix

package mux

import (
	"errors"
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

// tryWrite writes what of buf the socket takes without waiting (the
// descriptor is non-blocking, as every one of Go's net package is) and
// returns how much that was. net.Conn has no write that gives up when it
// would block, hence the system call.
func tryWrite(raw syscall.RawConn, buf []byte) (int, error) {
	n := 0
	var werr error
	err := raw.Write(func(fd uintptr) bool {
		for n < len(buf) {
			k, e := syscall.Write(int(fd), buf[n:])
			switch {
			case errors.Is(e, syscall.EINTR):
				continue
			case errors.Is(e, syscall.EAGAIN):
				return true // would block: the rest goes to the writer's goroutine
			case e != nil:
				werr = e
				return true
			case k <= 0:
				return true
			}
			n += k
		}
		return true
	})
	if err == nil {
		err = werr
	}
	return n, err
}
