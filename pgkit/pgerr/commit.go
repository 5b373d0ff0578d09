package pgerr

import (
	"errors"
	"strconv"
)

// ErrCommitUnknown is matched (errors.Is) by the error of a write whose
// outcome nobody can tell: its COMMIT (or, for a statement outside a
// transaction, the statement itself) reached the server, and the answer
// was lost with the connection. The write may have committed or not.
// Running it again may therefore do it twice; not running it may lose it.
// The error also matches ErrConnectionLost, and IsTransient holds, so a
// service answers it as it answers an outage (503), while a caller that
// must not do a write twice looks the outcome up by its own key first.
//
// pgkit.WithTx resolves most such commits itself (see pgkit.TxOptions):
// it returns this error only for a commit it could not resolve, and then
// the *CommitUnknownError carries the transaction's id.
var ErrCommitUnknown = errors.New("commit outcome unknown")

// CommitUnknownError is a write whose outcome is unknown (ErrCommitUnknown).
type CommitUnknownError struct {
	// Xid is the transaction's id (pg_current_xact_id()), 0 when it was
	// not learned: a statement outside a transaction, or a transaction
	// whose id never reached the client. On the server it was given on,
	// SELECT pg_xact_status('<Xid>') tells its outcome; after a failover
	// the new primary may have given the same id to a later transaction,
	// so there its answer proves nothing: look the write up by its own
	// key.
	Xid uint64
	// Reason says why the outcome could not be resolved.
	Reason string
	// Err is the failure that lost the answer.
	Err error
}

// Error says the outcome is unknown, why, and the transaction's id.
func (e *CommitUnknownError) Error() string {
	msg := ErrCommitUnknown.Error()
	if e.Xid != 0 {
		msg += " (transaction " + strconv.FormatUint(e.Xid, 10) + ")"
	}
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is matches ErrCommitUnknown and ErrConnectionLost.
func (e *CommitUnknownError) Is(target error) bool {
	return target == ErrCommitUnknown || target == ErrConnectionLost
}

// Unwrap gives the failure that lost the answer.
func (e *CommitUnknownError) Unwrap() error { return e.Err }

// IsCommitUnknown reports an error whose write may or may not have
// committed (ErrCommitUnknown).
func IsCommitUnknown(err error) bool { return errors.Is(err, ErrCommitUnknown) }
