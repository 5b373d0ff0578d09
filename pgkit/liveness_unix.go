//go:build unix

package pgkit

import (
	"net"
	"syscall"
)

// serverSpoke reports whether an idle connection has bytes, an end of
// file or an error (a reset: ECONNRESET) waiting to be read, without
// reading them (MSG_PEEK) and without waiting (MSG_DONTWAIT). An idle
// connection that is well has none of them: the peek would block.
//
// It peeks under RawConn.Control, not RawConn.Read: pgconn may have left a
// background reader blocked in Read on an idle connection (its bgreader
// does not interrupt a read in progress when stopped), and Read would wait
// for that reader's lock until the server next writes.
func serverSpoke(nc net.Conn) bool {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	spoke := false
	_ = rc.Control(func(fd uintptr) {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// Data, the server closed, or the connection was reset. A reset
		// is reported once (the peek clears it), and the write after it
		// fails before a byte leaves: but the executor replaces one dead
		// connection per statement, so a pool of reset connections would
		// fail writes (TestRetryPathPoolDeadConnection).
		spoke = n > 0 || (n == 0 && err == nil) ||
			(err != nil && err != syscall.EAGAIN && err != syscall.EWOULDBLOCK && err != syscall.EINTR)
	})
	return spoke
}
