package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// job is one load.
type job struct {
	pool         *pgkit.DB
	in           io.Reader
	name         string
	allOrNothing bool
	batch        int
	progress     *progress
}

// result is what a load did.
type result struct {
	rows     int64
	bad      []badRow // the first maxReported
	badCount int
	duration time.Duration
}

type badRow struct {
	line   int
	reason string
}

// maxReported bounds the bad rows kept for the report; all are counted.
const maxReported = 100

func (r *result) reject(line int, reason string) {
	r.badCount++
	if len(r.bad) < maxReported {
		r.bad = append(r.bad, badRow{line, reason})
	}
}

// errBadRow stops an -all-or-nothing load at its first bad row.
var errBadRow = errors.New("bad row")

// load reads j.in as CSV for t and copies it in batches.
func load[T any](ctx context.Context, t table[T], j job) (result, error) {
	start := time.Now()
	var res result
	counted := &countingReader{r: j.in, p: j.progress}
	r := csv.NewReader(counted)
	r.ReuseRecord = true
	r.FieldsPerRecord = -1 // checked here, with a clearer message
	header, err := r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return res, fmt.Errorf("%s is empty: want a header line %q", j.name, strings.Join(t.columns, ","))
		}
		return res, fmt.Errorf("%s: %w", j.name, err)
	}
	if !slices.EqualFunc(header, t.columns, func(a, b string) bool { return strings.EqualFold(strings.TrimSpace(a), b) }) {
		return res, fmt.Errorf("%s: %w", j.name, headerError(header, t.columns))
	}

	var tx pgx.Tx
	if j.allOrNothing {
		if tx, err = j.pool.Begin(ctx); err != nil {
			return res, err
		}
		defer tx.Rollback(context.WithoutCancel(ctx))
	}
	rows := make([]T, 0, j.batch)
	lines := make([]int, 0, j.batch)
	flush := func() error {
		if len(rows) == 0 {
			return nil
		}
		var n int64
		var err error
		if tx != nil {
			n, err = copyInTx(ctx, t, tx, rows, lines, &res)
		} else {
			n, err = copyBisect(ctx, t, j.pool, rows, lines, &res)
		}
		res.rows += n
		rows, lines = rows[:0], lines[:0]
		return err
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := r.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return res, fmt.Errorf("%s: %w", j.name, err)
			}
			res.reject(pe.Line, "malformed CSV: "+pe.Err.Error())
		} else if len(rec) != len(t.columns) {
			res.reject(line, fmt.Sprintf("%d fields, want %d (%s)", len(rec), len(t.columns), strings.Join(t.columns, ",")))
		} else if row, err := t.parse(rec); err != nil {
			res.reject(line, err.Error())
		} else {
			rows = append(rows, row)
			lines = append(lines, line)
			j.progress.addRows(1)
			if len(rows) == j.batch {
				if err := flush(); err != nil {
					return res, err
				}
			}
			continue
		}
		if j.allOrNothing {
			return res, fmt.Errorf("%w at %s:%d", errBadRow, j.name, res.bad[len(res.bad)-1].line)
		}
	}
	if err := flush(); err != nil {
		return res, err
	}
	if tx != nil {
		if err := tx.Commit(ctx); err != nil {
			return res, fmt.Errorf("commit: %w", err)
		}
	}
	res.duration = time.Since(start)
	return res, nil
}

// copyInTx copies rows in the one transaction of an -all-or-nothing load;
// a refused row fails the load, named by its line when the server says it.
func copyInTx[T any](ctx context.Context, t table[T], tx pgx.Tx, rows []T, lines []int, res *result) (int64, error) {
	n, err := t.load(ctx, db.New(tx), slices.Values(rows))
	if err == nil {
		return n, nil
	}
	if !rowError(err) {
		return 0, err
	}
	line := lines[0]
	if i, ok := copyLine(err); ok && i <= len(lines) {
		line = lines[i-1]
		res.reject(line, reason(err))
	} else {
		res.reject(line, reason(err)+fmt.Sprintf(" (in the batch of lines %d–%d)", lines[0], lines[len(lines)-1]))
	}
	return 0, fmt.Errorf("%w at line %d", errBadRow, line)
}

// copyBisect copies rows in a transaction of their own; when the server
// refuses a row, it splits the batch in halves and copies each, down to the
// single bad rows, which it reports and skips. Each bad row costs about
// log2(batch) extra COPYs of ever smaller halves; good rows are stored once.
func copyBisect[T any](ctx context.Context, t table[T], pool *pgkit.DB, rows []T, lines []int, res *result) (int64, error) {
	var n int64
	err := pgkit.WithTx(ctx, pool, db.New, func(q *db.Queries) (err error) {
		n, err = t.load(ctx, q, slices.Values(rows))
		return err
	})
	switch {
	case err == nil:
		return n, nil
	case !rowError(err):
		return 0, err
	case len(rows) == 1:
		res.reject(lines[0], reason(err))
		return 0, nil
	}
	half := len(rows) / 2
	a, err := copyBisect(ctx, t, pool, rows[:half], lines[:half], res)
	if err != nil {
		return a, err
	}
	b, err := copyBisect(ctx, t, pool, rows[half:], lines[half:], res)
	return a + b, err
}

// rowError reports a refusal caused by the data of some row (a constraint,
// a value out of range), as opposed to a lost connection or a cancel.
func rowError(err error) bool {
	code := pgerr.SQLState(err)
	return strings.HasPrefix(code, "22") || strings.HasPrefix(code, "23")
}

// reason describes a refused row without echoing its values.
func reason(err error) string {
	if ce, ok := pgerr.AsConstraint(err); ok {
		return fmt.Sprintf("%s on constraint %s", ce.Kind, ce.Constraint)
	}
	return fmt.Sprintf("refused by the server (SQLSTATE %s)", pgerr.SQLState(err))
}

var copyLineRE = regexp.MustCompile(`COPY \w+, line (\d+)`)

// copyLine is the row number within the COPY the server blames, from the
// error's context ("COPY users, line 3").
func copyLine(err error) (int, bool) {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return 0, false
	}
	m := copyLineRE.FindStringSubmatch(pgErr.Where)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	return n, err == nil
}

// countingReader counts the bytes read for the progress display.
type countingReader struct {
	r io.Reader
	p *progress
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.p.addBytes(int64(n))
	return n, err
}
