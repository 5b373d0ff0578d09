// Package pgerr turns PostgreSQL and pgx errors into typed errors that name
// the sqlc query and never carry argument or row values in their text:
// ErrNotFound, *ConstraintError, *QueryError, and classifiers by SQLSTATE
// (IsSerializationFailure, IsDeadlock, IsRetryable, IsLockTimeout,
// IsQueryCanceled, IsStatementTimeout), and ErrCommitUnknown for a write
// whose outcome was lost with its connection.
//
// pgkit applies Map to every error of the generated code it runs; the
// classifiers and AsConstraint also work on raw pgx errors, so code that
// received an error from plain pgx classifies it the same way.
package pgerr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ErrNotFound is what a :one query returns, wrapped with the query's name,
// when no row matches. It is pgx.ErrNoRows itself, so errors.Is(err,
// ErrNotFound) holds on every path: through pgkit (text "UserGetByID: not
// found") and straight from pgx.
var ErrNotFound = pgx.ErrNoRows

// Sentinels for the kinds of constraint violation: errors.Is(err,
// ErrUniqueViolation) holds for a *ConstraintError of that kind. For a raw
// *pgconn.PgError use AsConstraint or the Is… functions.
var (
	ErrUniqueViolation     = errors.New("unique violation")
	ErrForeignKeyViolation = errors.New("foreign key violation")
	ErrCheckViolation      = errors.New("check violation")
	ErrNotNullViolation    = errors.New("not-null violation")
	ErrExclusionViolation  = errors.New("exclusion violation")
)

// ConstraintKind says which kind of constraint a write violated.
type ConstraintKind int

// The constraint kinds, one per SQLSTATE of class 23.
const (
	ConstraintUnknown ConstraintKind = iota
	ConstraintUnique
	ConstraintForeignKey
	ConstraintCheck
	ConstraintNotNull
	ConstraintExclusion
)

// constraintKind maps a class 23 SQLSTATE to its kind.
func constraintKind(code string) (ConstraintKind, bool) {
	switch code {
	case "23505":
		return ConstraintUnique, true
	case "23503":
		return ConstraintForeignKey, true
	case "23514":
		return ConstraintCheck, true
	case "23502":
		return ConstraintNotNull, true
	case "23P01":
		return ConstraintExclusion, true
	}
	return ConstraintUnknown, false
}

// sentinel is the Err… value matching the kind.
func (k ConstraintKind) sentinel() error {
	switch k {
	case ConstraintUnique:
		return ErrUniqueViolation
	case ConstraintForeignKey:
		return ErrForeignKeyViolation
	case ConstraintCheck:
		return ErrCheckViolation
	case ConstraintNotNull:
		return ErrNotNullViolation
	case ConstraintExclusion:
		return ErrExclusionViolation
	}
	return nil
}

// String names the kind as an error message would.
func (k ConstraintKind) String() string {
	if s := k.sentinel(); s != nil {
		return s.Error()
	}
	return "integrity violation"
}

// ConstraintError is a write refused by a constraint. Its Error text names
// the query, the kind, the constraint and the table, never the values: those
// are in Detail (PostgreSQL's "Key (email)=(…) already exists."), which the
// caller may show or log knowingly.
type ConstraintError struct {
	Query      string // the sqlc query name, e.g. "UserCreate"; empty for raw SQL
	Kind       ConstraintKind
	Constraint string // e.g. "users_pkey"
	Table      string
	Column     string // set for not-null violations
	Detail     string // may contain row values
	PgErr      *pgconn.PgError
}

// Error describes the violation without any value from the row.
func (e *ConstraintError) Error() string {
	var b strings.Builder
	if e.Query != "" {
		b.WriteString(e.Query + ": ")
	}
	b.WriteString(e.Kind.String())
	if e.Constraint != "" {
		fmt.Fprintf(&b, " on constraint %q", e.Constraint)
	}
	if e.Column != "" {
		fmt.Fprintf(&b, " on column %q", e.Column)
	}
	if e.Table != "" {
		fmt.Fprintf(&b, " of table %q", e.Table)
	}
	return b.String()
}

// Unwrap gives the *pgconn.PgError.
func (e *ConstraintError) Unwrap() error { return e.PgErr }

// Is matches the sentinel of e's kind.
func (e *ConstraintError) Is(target error) bool {
	s := e.Kind.sentinel()
	return s != nil && target == s
}

// notFoundError is ErrNotFound for one query.
type notFoundError struct{ query string }

func (e *notFoundError) Error() string {
	if e.query == "" {
		return "not found"
	}
	return e.query + ": not found"
}
func (e *notFoundError) Unwrap() error { return ErrNotFound }

// QueryError is any other failure of a query: a server error, a lost
// connection, a cancelled context. Its text is the query name, the SQLSTATE
// and PostgreSQL's message, except for data exceptions (SQLSTATE class 22),
// whose messages quote the offending input value and are left out. The
// *pgconn.PgError stays reachable with errors.As, and when the query's
// context had ended, errors.Is(err, context.Canceled) (or DeadlineExceeded)
// holds too, even where pgx reports only the server's 57014.
type QueryError struct {
	Query string // the sqlc query name; empty for raw SQL
	Err   error
	// Context is the query's context error when it had ended by the time
	// the query failed; nil otherwise.
	Context error
}

// Error describes the failure without argument values.
func (e *QueryError) Error() string {
	msg := e.Err.Error()
	var pgErr *pgconn.PgError
	if errors.As(e.Err, &pgErr) && strings.HasPrefix(pgErr.Code, "22") {
		msg = dataExceptionText(pgErr.Code)
	}
	if e.Context != nil && !errors.Is(e.Err, e.Context) {
		msg += " (" + e.Context.Error() + ")"
	}
	if pgErr == nil && e.Is(ErrConnectionLost) {
		msg = ErrConnectionLost.Error() + ": " + msg
	}
	if e.Query == "" {
		return msg
	}
	return e.Query + ": " + msg
}

// Is matches ErrConnectionLost when the connection broke (and not because
// the query's context ended).
func (e *QueryError) Is(target error) bool {
	return target == ErrConnectionLost && e.Context == nil && connectionLost(e.Err)
}

// Unwrap gives the underlying error and the context's.
func (e *QueryError) Unwrap() []error {
	if e.Context != nil {
		return []error{e.Err, e.Context}
	}
	return []error{e.Err}
}

// Map turns err from running sql (a generated query, whose first line names
// it, or any SQL) under ctx into the typed errors of this package. It
// returns nil for nil, and errors it already mapped unchanged.
func Map(ctx context.Context, sql string, err error) error {
	if err == nil {
		return nil
	}
	switch err.(type) {
	case *notFoundError, *ConstraintError, *QueryError, *CommitUnknownError:
		return err
	}
	name := QueryName(sql)
	if errors.Is(err, pgx.ErrNoRows) {
		return &notFoundError{query: name}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		if kind, ok := constraintKind(pgErr.Code); ok {
			return &ConstraintError{
				Query: name, Kind: kind, Constraint: pgErr.ConstraintName, Table: pgErr.TableName,
				Column: pgErr.ColumnName, Detail: pgErr.Detail, PgErr: pgErr,
			}
		}
	}
	qe := &QueryError{Query: name, Err: err}
	if ctx != nil {
		qe.Context = ctx.Err()
	}
	if qe.Query == "" && qe.Context == nil && pgErr == nil && !connectionLost(err) {
		return err // nothing to add
	}
	return qe
}

// QueryName returns the sqlc name of a generated query ("UserGetByID" from
// "-- name: UserGetByID :one\n…"), or "" for SQL without that header.
func QueryName(sql string) string {
	const prefix = "-- name: "
	if !strings.HasPrefix(sql, prefix) {
		return ""
	}
	rest := sql[len(prefix):]
	if i := strings.IndexAny(rest, " \n"); i >= 0 {
		return rest[:i]
	}
	return rest
}

// AsConstraint returns the constraint violation in err's chain, also for an
// error that did not pass through Map (a bare *pgconn.PgError from pgx).
func AsConstraint(err error) (*ConstraintError, bool) {
	var ce *ConstraintError
	if errors.As(err, &ce) {
		return ce, true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		if ce, ok := Map(nil, "", pgErr).(*ConstraintError); ok {
			return ce, true
		}
	}
	return nil, false
}

// SQLState returns the SQLSTATE of the PostgreSQL error in err's chain, or "".
func SQLState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// ErrConnectionLost is matched (errors.Is) by a query error whose
// connection broke: reset, closed or timed out, the server shutting down or
// restarting (SQLSTATE 57P01–57P03), or a connection exception (class 08).
// The query's outcome is unknown unless it was never sent; see IsTransient.
var ErrConnectionLost = errors.New("connection to the server lost")

// connectionLost reports whether err says the connection broke.
func connectionLost(err error) bool {
	switch code := SQLState(err); {
	case code == "57P01", code == "57P02", code == "57P03", strings.HasPrefix(code, "08"):
		return true
	case code != "":
		return false
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false // the caller's own cancellation, not a broken connection
	}
	var netErr net.Error
	var connectErr *pgconn.ConnectError
	return errors.As(err, &netErr) || errors.As(err, &connectErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) ||
		strings.Contains(err.Error(), "conn closed")
}

// IsTransient reports an error that a new attempt on a new connection can
// cure: the connection was lost (ErrConnectionLost), or the server refused
// new connections for now (too many connections, 53300; cannot connect now,
// 57P03). Whether retrying is safe depends on the statement: a write whose
// connection broke after it was sent may have committed.
func IsTransient(err error) bool {
	return err != nil && (errors.Is(err, ErrConnectionLost) || connectionLost(err) || SQLState(err) == "53300")
}

// IsWrongServerRole reports a connection refused because the server was not
// what target_session_attrs asked for (a primary where a standby was
// wanted, read-only where read-write was, or the reverse): after a failover
// another host of the connection string, or a later attempt, may fit.
func IsWrongServerRole(err error) bool {
	return errors.Is(err, pgconn.ErrPrimaryConnection) || errors.Is(err, pgconn.ErrStandbyConnection) ||
		errors.Is(err, pgconn.ErrReadOnlyConnection) || errors.Is(err, pgconn.ErrReadWriteConnection)
}

// IsSerializationFailure reports a serialization failure (SQLSTATE 40001):
// a serializable or repeatable read transaction lost a race and may be
// retried, as pgkit.WithTx does.
func IsSerializationFailure(err error) bool { return SQLState(err) == "40001" }

// IsDeadlock reports a deadlock (SQLSTATE 40P01); the transaction the server
// chose as victim may be retried, as pgkit.WithTx does.
func IsDeadlock(err error) bool { return SQLState(err) == "40P01" }

// IsStalePlan reports a statement the server refused because the prepared
// statement it was bound to went stale: a schema change altered its result
// ("cached plan must not change result type", SQLSTATE 0A000) or it no
// longer exists (26000, after DISCARD or DEALLOCATE). The statement did
// not run; pgx forgets it on that connection, so running it again
// prepares it afresh, as pgkit's DB does by itself.
func IsStalePlan(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	return pgErr.Code == "26000" || pgErr.Code == "0A000" && strings.Contains(pgErr.Message, "cached plan")
}

// IsRetryable reports an error after which running the whole transaction
// again can succeed: serialization failure, deadlock, or a stale prepared
// statement (IsStalePlan: in a transaction it aborts the transaction, so
// only the whole of it can run again).
func IsRetryable(err error) bool {
	return IsSerializationFailure(err) || IsDeadlock(err) || IsStalePlan(err)
}

// IsLockTimeout reports a lock not granted within lock_timeout, or NOWAIT
// finding it taken (SQLSTATE 55P03).
func IsLockTimeout(err error) bool { return SQLState(err) == "55P03" }

// IsQueryCanceled reports a query cancelled before it finished, whatever the
// cause: its context (cancel or deadline), statement_timeout, or
// pg_cancel_backend.
func IsQueryCanceled(err error) bool {
	return SQLState(err) == "57014" || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// IsStatementTimeout reports a statement cancelled by the server (SQLSTATE
// 57014) while the caller's context was still live: statement_timeout, or
// an administrator's pg_cancel_backend. PostgreSQL gives both the same
// SQLSTATE and tells them apart only in its message text, which depends on
// lc_messages and is not parsed here. A query cancelled by its own context
// is not a statement timeout (see QueryError.Context).
func IsStatementTimeout(err error) bool {
	return SQLState(err) == "57014" && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}
