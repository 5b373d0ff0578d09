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

// directWrite is never used off unix (rawConn is nil).
type directWrite struct{}

func newDirectWrite(syscall.RawConn) *directWrite { return &directWrite{} }

func (*directWrite) try([]byte) (int, error) {
	return 0, errors.New("pgkit: no direct writes on this platform")
}
