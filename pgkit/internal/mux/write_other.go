//go:build !unix

package mux

import (
	"errors"
	"net"
	"syscall"
)

// rawConn is nil off unix: every write goes through the writer's
// goroutine.
func rawConn(net.Conn) syscall.RawConn { return nil }

// tryWrite is never called off unix (rawConn is nil).
func tryWrite(syscall.RawConn, []byte) (int, error) {
	return 0, errors.New("pgkit: no direct writes on this platform")
}
