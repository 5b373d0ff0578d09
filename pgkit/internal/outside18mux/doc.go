// Package outside18mux holds an outside review's tests of the
// multiplexer's value slabs (pgkit.Config.Multiplex): values scanned and
// kept after Close must not change while other results reuse the slabs.
package outside18mux
