package mux

import "errors"

// InFlight reports whether err is that of a statement that was (or may
// have been) written when its connection broke: it may have run. The
// other failures of a statement (no connection for its lane, the caller
// gone while it was queued) come before any byte of it left.
func InFlight(err error) bool {
	var e *inFlightError
	return errors.As(err, &e)
}
