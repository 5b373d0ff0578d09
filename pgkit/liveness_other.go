//go:build !unix

package pgkit

import "net"

// serverSpoke cannot peek at a socket here; pgxpool's ping of connections
// idle for a second or more remains.
func serverSpoke(net.Conn) bool { return false }
