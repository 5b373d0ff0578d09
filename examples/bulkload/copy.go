package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// copier copies batches of rows of t. Each attempt runs in a transaction
// of its own (on pool) or, in an -all-or-nothing load, in a savepoint of
// tx, so that a refused attempt leaves nothing behind and the load goes on.
type copier[T any] struct {
	t    table[T]
	name string // the input's, for messages
	pool *pgkit.DB
	tx   pgx.Tx // the -all-or-nothing load's transaction, or nil
	res  *result
	inTx int64 // rows copied into tx, stored when it commits
}

// copy copies rows, whose lines are lines, and returns how many of them,
// from the first, are resolved: stored, or reported as bad rows. All are
// unless it fails: with a connection lost, ctx ended, or, with
// -all-or-nothing, errBadRow at the first row the server refuses.
//
// When the server refuses a row, the batch is split in halves, each copied
// on its own, down to the single rows it refuses: each bad row costs about
// 2·log2(len(rows)) COPYs of ever smaller halves, and good rows are stored
// once. (The server names the row of some refusals, "COPY users, line 3",
// but not of a foreign key, checked at the end of the COPY; and splitting
// around the named row re-sends the rest of the batch once per bad row,
// quadratic when bad rows are many.) Halves are resolved in line order, so
// an interrupted copy has a resolved prefix, and the first bad row found
// is the first in line order.
func (c *copier[T]) copy(ctx context.Context, rows []T, lines []int) (int, error) {
	n, err := c.attempt(ctx, rows)
	switch {
	case err == nil:
		c.stored(n)
		return len(rows), nil
	case !rowError(err) || ctx.Err() != nil:
		return 0, err
	case len(rows) == 1:
		c.res.reject(lines[0], reason(err))
		if c.tx != nil {
			return 0, fmt.Errorf("%w at %s:%d", errBadRow, c.name, lines[0])
		}
		return 1, nil
	}
	half := len(rows) / 2
	a, err := c.copy(ctx, rows[:half], lines[:half])
	if err != nil {
		return a, err
	}
	b, err := c.copy(ctx, rows[half:], lines[half:])
	return a + b, err
}

// attempt copies rows in one COPY, in a transaction or savepoint of its
// own. The COPY is cancelled when ctx ends; the transaction is begun and
// committed without ctx's cancellation, so that a COPY the server
// completed is committed, and the count of stored rows is exact.
func (c *copier[T]) attempt(ctx context.Context, rows []T) (int64, error) {
	var src pgkit.DBTX = c.pool
	if c.tx != nil {
		src = c.tx
	}
	var n int64
	err := pgkit.WithTx(context.WithoutCancel(ctx), src, db.New, func(q *db.Queries) (err error) {
		n, err = c.t.load(ctx, q, slices.Values(rows))
		return err
	})
	return n, err
}

// stored counts n rows copied: stored now, or when tx commits.
func (c *copier[T]) stored(n int64) {
	if c.tx != nil {
		c.inTx += n
	} else {
		c.res.rows += n
	}
}

// rowError reports a refusal caused by the data of some row, as opposed
// to a lost connection, a cancel or a schema problem: a data exception
// (class 22: a value out of range, invalid text, bad encoding…), an
// integrity constraint violation (class 23), or a program limit exceeded
// (54000: a value too big for an index, a row too big).
func rowError(err error) bool {
	code := pgerr.SQLState(err)
	return strings.HasPrefix(code, "22") || strings.HasPrefix(code, "23") || code == "54000"
}

// reason describes a refused row by its SQLSTATE and the names of the
// schema objects involved, never by the server's message or detail, which
// may echo the row's values.
func reason(err error) string {
	if ce, ok := pgerr.AsConstraint(err); ok {
		if ce.Constraint == "" && ce.Column != "" {
			return fmt.Sprintf("%s on column %s", ce.Kind, ce.Column)
		}
		return fmt.Sprintf("%s on constraint %s", ce.Kind, ce.Constraint)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return "refused by the server"
	}
	what, ok := sqlstateText(pgErr.Code)
	switch {
	case pgErr.Code == "54000" && strings.HasPrefix(pgErr.Message, "index row"):
		what = "value too big for its index: an indexed value must stay under about 2,700 bytes once compressed"
	case !ok && strings.HasPrefix(pgErr.Code, "22"):
		what = "invalid value"
	case !ok:
		what = "refused by the server"
	}
	var where []string
	switch {
	case pgErr.ConstraintName != "" && pgErr.Code == "54000":
		where = append(where, "index "+pgErr.ConstraintName)
	case pgErr.ConstraintName != "":
		where = append(where, "constraint "+pgErr.ConstraintName)
	}
	if pgErr.ColumnName != "" {
		where = append(where, "column "+pgErr.ColumnName)
	}
	if col := copyColumn(pgErr.Where); col != "" && pgErr.ColumnName == "" {
		where = append(where, "column "+col)
	}
	where = append(where, "SQLSTATE "+pgErr.Code)
	return what + " (" + strings.Join(where, ", ") + ")"
}

// sqlstateText names the row-level SQLSTATEs a load meets most.
func sqlstateText(code string) (string, bool) {
	switch code {
	case "22001":
		return "value too long for its column", true
	case "22003":
		return "number out of range for its column", true
	case "22007":
		return "invalid date/time", true
	case "22008":
		return "date/time out of range", true
	case "22021":
		return "invalid byte sequence for the database's encoding", true
	case "22P02":
		return "invalid input syntax for its column's type", true
	case "22P05":
		return "character the database's encoding cannot represent", true
	case "54000":
		return "row or value too big (a program limit of the server)", true
	}
	return "", false
}

// copyColumn is the column COPY's context names ("COPY users, line 3,
// column email", followed in text format by ": " and the value, which is
// left out), or "".
func copyColumn(where string) string {
	for _, l := range strings.Split(where, "\n") {
		if !strings.HasPrefix(l, "COPY ") {
			continue
		}
		if _, col, ok := strings.Cut(l, ", column "); ok {
			col, _, _ = strings.Cut(col, ":")
			return strings.TrimSpace(col)
		}
	}
	return ""
}
