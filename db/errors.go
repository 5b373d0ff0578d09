package db

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ErrNotFound is what a :one query returns, wrapped with the query's name,
// when no row matches. errors.Is(err, pgx.ErrNoRows) holds for it too.
var ErrNotFound = errors.New("not found")

// Sentinels for the kinds of constraint violation: errors.Is(err,
// ErrUniqueViolation) holds for a *ConstraintError of that kind.
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
func (e *notFoundError) Is(target error) bool { return target == ErrNotFound }
func (e *notFoundError) Unwrap() error        { return pgx.ErrNoRows }

// QueryError is any other server error of a named query. Its text is the
// query name, SQLSTATE and PostgreSQL's message, except for data exceptions
// (SQLSTATE class 22), whose messages quote the offending input value and
// are left out. The *pgconn.PgError stays reachable with errors.As.
type QueryError struct {
	Query string
	Err   error
}

// Error describes the failure without argument values.
func (e *QueryError) Error() string {
	msg := e.Err.Error()
	var pgErr *pgconn.PgError
	if errors.As(e.Err, &pgErr) && strings.HasPrefix(pgErr.Code, "22") {
		msg = fmt.Sprintf("invalid input data (SQLSTATE %s)", pgErr.Code)
	}
	if e.Query == "" {
		return msg
	}
	return e.Query + ": " + msg
}

// Unwrap gives the underlying error.
func (e *QueryError) Unwrap() error { return e.Err }

// mapError turns err from running sql into the typed errors above. It is
// applied by the DBTX wrappers of this package (DB, transactions, pipelines).
func mapError(sql string, err error) error {
	if err == nil {
		return nil
	}
	name := QueryName(sql)
	if errors.Is(err, pgx.ErrNoRows) {
		return &notFoundError{query: name}
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		if name == "" {
			return err
		}
		return &QueryError{Query: name, Err: err}
	}
	if kind, ok := constraintKind(pgErr.Code); ok {
		return &ConstraintError{
			Query: name, Kind: kind, Constraint: pgErr.ConstraintName, Table: pgErr.TableName,
			Column: pgErr.ColumnName, Detail: pgErr.Detail, PgErr: pgErr,
		}
	}
	return &QueryError{Query: name, Err: err}
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
// error that did not pass through this package's wrappers (a bare
// *pgconn.PgError from pgx).
func AsConstraint(err error) (*ConstraintError, bool) {
	var ce *ConstraintError
	if errors.As(err, &ce) {
		return ce, true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		if ce, ok := mapError("", pgErr).(*ConstraintError); ok {
			return ce, true
		}
	}
	return nil, false
}

func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// IsSerializationFailure reports a serialization failure (SQLSTATE 40001):
// a serializable or repeatable read transaction lost a race and may be
// retried, as WithTx does.
func IsSerializationFailure(err error) bool { return sqlState(err) == "40001" }

// IsDeadlock reports a deadlock (SQLSTATE 40P01); the transaction the server
// chose as victim may be retried, as WithTx does.
func IsDeadlock(err error) bool { return sqlState(err) == "40P01" }

// IsRetryable reports an error after which running the whole transaction
// again can succeed: serialization failure or deadlock.
func IsRetryable(err error) bool { return IsSerializationFailure(err) || IsDeadlock(err) }

// IsLockTimeout reports a lock not granted within lock_timeout, or NOWAIT
// finding it taken (SQLSTATE 55P03).
func IsLockTimeout(err error) bool { return sqlState(err) == "55P03" }

// IsStatementTimeout reports a statement cancelled by statement_timeout.
func IsStatementTimeout(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "57014" && strings.Contains(pgErr.Message, "statement timeout")
}

// IsQueryCanceled reports a query cancelled before it finished: by its
// context (cancel or deadline), by pg_cancel_backend, or by
// statement_timeout.
func IsQueryCanceled(err error) bool {
	return sqlState(err) == "57014" || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
