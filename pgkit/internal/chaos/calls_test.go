package chaos

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/pgkit"
)

// echo reads the token back.
func echo(ctx context.Context, db pgkit.DBTX, tok string) (string, error) {
	var got string
	if err := db.QueryRow(ctx, sqlEcho, tok).Scan(&got); err != nil {
		return "", err
	}
	return differs("echo", tok, got), nil
}

// slow reads the token back after sleeping secs on the server.
func slow(ctx context.Context, db pgkit.DBTX, tok string, secs float64) (string, error) {
	var got string
	if err := db.QueryRow(ctx, sqlSlow, tok, secs).Scan(&got); err != nil {
		return "", err
	}
	return differs("slow echo", tok, got), nil
}

// payloadOf is n bytes made of tok, different for every token.
func payloadOf(tok string, n int) string {
	unit := tok + "|"
	return strings.Repeat(unit, n/len(unit)+1)[:n]
}

// payload sends n bytes and reads them back.
func payload(ctx context.Context, db pgkit.DBTX, tok string, n int) (string, error) {
	p := payloadOf(tok, n)
	var gotTok, got string
	if err := db.QueryRow(ctx, sqlPayload, tok, p).Scan(&gotTok, &got); err != nil {
		return "", err
	}
	if d := differs("payload token", tok, gotTok); d != "" {
		return d, nil
	}
	return differs(fmt.Sprintf("payload of %d bytes", n), p, got), nil
}

// bigResult asks for about n bytes made of the token.
func bigResult(ctx context.Context, db pgkit.DBTX, tok string, n int) (string, error) {
	unit := tok + "|"
	count := n / len(unit)
	var gotTok, got string
	if err := db.QueryRow(ctx, sqlBigResult, tok, unit, count).Scan(&gotTok, &got); err != nil {
		return "", err
	}
	if d := differs("big result token", tok, gotTok); d != "" {
		return d, nil
	}
	if len(got) != count*len(unit) {
		return fmt.Sprintf("big result: %d bytes, want %d", len(got), count*len(unit)), nil
	}
	// Compared a block at a time: one comparison per unit costs seconds
	// with -race.
	block := strings.Repeat(unit, max(1, min(count, (64<<10)/len(unit))))
	for i := 0; i < len(got); i += len(block) {
		part := got[i:min(len(got), i+len(block))]
		if part != block[:len(part)] {
			return fmt.Sprintf("big result: %q at byte %d, want %q", clip(part), i, clip(block)), nil
		}
	}
	return "", nil
}

// many reads n rows tok:1 … tok:n.
func many(ctx context.Context, db pgkit.DBTX, tok string, n int) (string, error) {
	rows, err := db.Query(ctx, sqlMany, tok, n)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	i := 0
	for rows.Next() {
		var got string
		if err := rows.Scan(&got); err != nil {
			return "", err
		}
		i++
		if d := differs(fmt.Sprintf("row %d of %d", i, n), tok+":"+strconv.Itoa(i), got); d != "" {
			return d, nil
		}
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	if i != n {
		return fmt.Sprintf("many: %d rows, want %d", i, n), nil
	}
	return "", nil
}

// stream reads the rows of many through pgkit.StreamScan.
func stream(ctx context.Context, db pgkit.DBTX, tok string, n int) (string, error) {
	i := 0
	for got, err := range pgkit.StreamScan(ctx, db, pgx.RowTo[string], sqlMany, tok, n) {
		if err != nil {
			return "", err
		}
		i++
		if d := differs(fmt.Sprintf("streamed row %d of %d", i, n), tok+":"+strconv.Itoa(i), got); d != "" {
			return d, nil
		}
	}
	if i != n {
		return fmt.Sprintf("stream: %d rows, want %d", i, n), nil
	}
	return "", nil
}

// insert writes part of op, with RETURNING when returning is set.
func (w *worker) insert(ctx context.Context, db pgkit.DBTX, op int64, part int, tok string, returning bool) (string, error) {
	if returning {
		var got string
		if err := db.QueryRow(ctx, sqlWriteRet, w.r.id, op, part, tok).Scan(&got); err != nil {
			return "", err
		}
		return differs("insert returning", tok, got), nil
	}
	tag, err := db.Exec(ctx, sqlWrite, w.r.id, op, part, tok)
	if err != nil {
		return "", err
	}
	if tag.RowsAffected() != 1 {
		return fmt.Sprintf("insert: command tag %q, want INSERT 0 1", tag.String()), nil
	}
	return "", nil
}

// write inserts op as one row and records it, acknowledged when the
// insert returned without error.
func (w *worker) write(ctx context.Context, db pgkit.DBTX, op int64, tok string, returning bool) (string, error) {
	wrong, err := w.insert(ctx, db, op, 1, tok, returning)
	w.wrote(write{op: op, token: tok, parts: 1, acked: err == nil && wrong == ""})
	return wrong, err
}

// wrote records a write call as its caller saw it.
func (w *worker) wrote(wr write) {
	w.writes = append(w.writes, wr)
	if wr.acked {
		w.r.acked.Add(1)
	}
}

// tx inserts two rows of op in one transaction with a read between them:
// acknowledged when WithTx returned nil, and then both rows must be
// there; otherwise both or neither.
func (w *worker) tx(ctx context.Context, op int64, tok string) (string, error) {
	var wrong string
	err := pgkit.WithTx(ctx, w.r.src, self, func(q pgkit.DBTX) error {
		for part := 1; part <= 2; part++ {
			d, err := w.insert(ctx, q, op, part, tok, part == 2)
			if err != nil {
				return err
			}
			if d != "" {
				wrong = d
				return errWrong
			}
			if part == 1 {
				if d, err := echo(ctx, q, tok+"~tx"); err != nil {
					return err
				} else if d != "" {
					wrong = d
					return errWrong
				}
			}
		}
		return nil
	})
	w.wrote(write{op: op, token: tok, parts: 2, acked: err == nil})
	if errors.Is(err, errWrong) {
		return wrong, nil
	}
	return wrong, err
}

// page is the functions of the pipeline and gather calls: an echo, a
// :many and an insert of op; each sets its entry of wrong, and the
// insert its error in writeErr.
func (w *worker) page(op int64, tok string, wrong *[3]string, writeErr *error) []func(context.Context, pgkit.DBTX) error {
	*writeErr = errNotRun
	return []func(context.Context, pgkit.DBTX) error{
		func(ctx context.Context, q pgkit.DBTX) (err error) {
			wrong[0], err = echo(ctx, q, tok+"~a")
			return err
		},
		func(ctx context.Context, q pgkit.DBTX) (err error) {
			wrong[1], err = many(ctx, q, tok+"~b", 3)
			return err
		},
		func(ctx context.Context, q pgkit.DBTX) error {
			wrong[2], *writeErr = w.insert(ctx, q, op, 1, tok, false)
			return *writeErr
		},
	}
}

// pipeline runs the page through pgkit.Pipeline: the insert is
// acknowledged when Pipeline returned nil (a failure elsewhere in its
// round may roll it back).
func (w *worker) pipeline(ctx context.Context, op int64, tok string) (string, error) {
	var wrong [3]string
	var writeErr error
	err := pgkit.Pipeline(ctx, w.r.src, self, w.page(op, tok, &wrong, &writeErr)...)
	w.wrote(write{op: op, token: tok, parts: 1, acked: err == nil && wrong[2] == ""})
	return joinWrong(wrong[:]), err
}

// gather runs the page through pgkit.Gather: each its own autocommit
// statement, so the insert is acknowledged when its own function returned
// nil.
func (w *worker) gather(ctx context.Context, op int64, tok string) (string, error) {
	var wrong [3]string
	var writeErr error
	err := pgkit.Gather(ctx, w.r.src, self, w.page(op, tok, &wrong, &writeErr)...)
	w.wrote(write{op: op, token: tok, parts: 1, acked: writeErr == nil && wrong[2] == ""})
	return joinWrong(wrong[:]), err
}

// pair asks for a large result and sends a large argument concurrently,
// as a page fetching a report while uploading a file would: on a
// multiplexing DB the two statements are likely to share a connection and
// one write, the multiplexer's hardest case.
func pair(ctx context.Context, db pgkit.DBTX, tok string, n int) (string, error) {
	var wrong [2]string
	err := pgkit.Gather(ctx, db, self,
		func(ctx context.Context, q pgkit.DBTX) (err error) {
			wrong[0], err = bigResult(ctx, q, tok+"~r", n)
			return err
		},
		func(ctx context.Context, q pgkit.DBTX) (err error) {
			wrong[1], err = payload(ctx, q, tok+"~w", n)
			return err
		},
	)
	return joinWrong(wrong[:]), err
}

// errNotRun is a Gather function's error until it has run.
var errNotRun = errors.New("chaos: not run")

// differs describes got when it is not want, clipped; "" when equal.
func differs(what, want, got string) string {
	if want == got {
		return ""
	}
	return fmt.Sprintf("%s: got %q (%d bytes), want %q (%d bytes)", what, clip(got), len(got), clip(want), len(want))
}

// clip shortens s for a message.
func clip(s string) string {
	if len(s) > 48 {
		return s[:48] + "…"
	}
	return s
}

// joinWrong joins the non-empty descriptions.
func joinWrong(ds []string) string {
	var out []string
	for _, d := range ds {
		if d != "" {
			out = append(out, d)
		}
	}
	return strings.Join(out, "; ")
}
