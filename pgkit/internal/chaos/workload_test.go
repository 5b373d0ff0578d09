package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/pgkit"
)

// The workload's statements, with sqlc's header so that errors name them.
// Every argument carries the caller's token, so an answer meant for
// another caller cannot pass for the right one.
const (
	sqlEcho      = "-- name: ChaosEcho :one\nSELECT $1::text"
	sqlPayload   = "-- name: ChaosPayload :one\nSELECT $1::text, $2::text"
	sqlBigResult = "-- name: ChaosBigResult :one\nSELECT $1::text, repeat($2::text, $3::int)"
	sqlMany      = "-- name: ChaosMany :many\nSELECT $1::text || ':' || g FROM generate_series(1, $2::int) AS g"
	sqlSlow      = "-- name: ChaosSlow :one\nSELECT $1::text FROM pg_sleep($2::float8)"
	sqlWrite     = "-- name: ChaosWrite :exec\nINSERT INTO chaos_writes (run, op, part, token) VALUES ($1, $2, $3, $4)"
	sqlWriteRet  = "-- name: ChaosWriteReturning :one\nINSERT INTO chaos_writes (run, op, part, token) VALUES ($1, $2, $3, $4) RETURNING token"
)

// kind is a kind of call of the workload.
type kind int

const (
	kEcho           kind = iota // :one echoing the token, with a deadline
	kEchoNoDeadline             // the same with a context without deadline: Config.QueryTimeout bounds it
	kPayload                    // a large argument echoed back (0 B to 64 MB)
	kBigResult                  // a large result from small arguments
	kMany                       // :many of 0 to 5,000 rows
	kWrite                      // :exec insert
	kWriteRet                   // :one insert … RETURNING
	kTx                         // WithTx: insert, echo, insert
	kCancelRead                 // a read with a 0–20 ms deadline, cut off mid-result
	kCancelWrite                // a write with a 0–10 ms deadline
	kPipeline                   // Pipeline: echo, :many, insert
	kGather                     // Gather: echo, :many, insert
	kStream                     // pgkit.StreamScan of 2,000 rows
	kPair                       // Gather: a large result and a large argument at once (see pairSize), by worker 0
	nKinds
)

var kindNames = [nKinds]string{"echo", "echo-no-deadline", "payload", "big-result", "many", "write", "write-returning",
	"tx", "cancel-read", "cancel-write", "pipeline", "gather", "stream", "pair"}

func (k kind) String() string { return kindNames[k] }

// kindWeights is how often each kind is picked, out of their sum.
var kindWeights = [nKinds]int{20, 8, 6, 5, 10, 12, 8, 8, 6, 3, 5, 5, 4, 0}

// errWrong ends a transaction whose read got a wrong answer.
var errWrong = errors.New("chaos: wrong answer")

// self is the constructor the generic helpers get: the workload uses the
// DBTX itself.
func self(d pgkit.DBTX) pgkit.DBTX { return d }

// inflight is the call a worker is in.
type inflight struct {
	kind     kind
	size     int
	start    time.Time
	deadline time.Duration
}

// worker is one of the goroutines of a run: its own token per call, its
// own counts and write ledger.
type worker struct {
	id     int
	r      *run
	rng    *rand.Rand
	seq    int
	c      counts
	writes []write
	cur    atomic.Pointer[inflight] // nil between calls
}

// loop makes calls until the run's end.
func (w *worker) loop() {
	for time.Now().Before(w.r.stopAt) {
		w.call()
	}
}

// pick draws a kind by kindWeights; worker 0 makes pair calls only, when
// the run has them.
func (w *worker) pick() kind {
	if w.id == 0 && w.r.pairs {
		return kPair
	}
	total := 0
	for _, n := range kindWeights {
		total += n
	}
	x := w.rng.IntN(total)
	for k, n := range kindWeights {
		if x < n {
			return kind(k)
		}
		x -= n
	}
	return kEcho
}

// size draws a payload size, taking a slot for large ones (at most a few
// run at once, to bound memory); release gives it back.
func (w *worker) size() (n int, release func()) {
	none := func() {}
	x := w.rng.IntN(100)
	switch {
	case x < 15:
		return 0, none
	case x < 30:
		return 1, none
	case x < 70:
		return 1000, none
	case x < 88:
		return w.r.slot(w.r.big, 1<<20)
	case x < 98 || !w.r.set.long:
		return w.r.slot(w.r.huge, 16<<20)
	default:
		return w.r.slot(w.r.huge, 64<<20)
	}
}

// call makes one call of a random kind and records its outcome.
func (w *worker) call() {
	w.seq++
	op := int64(w.id)<<32 | int64(w.seq)
	tok := fmt.Sprintf("t%d.%d.%08x", w.id, w.seq, w.rng.Uint32())
	k := w.pick()
	size, release := 0, func() {}
	switch k {
	case kPayload, kBigResult:
		size, release = w.size()
	case kPair:
		size, release = w.r.slot(w.r.pair, w.r.pairSize)
	}
	defer release()
	deadline := w.r.deadline(size)
	ctx := w.r.ctx // cancelled at the run's end
	switch k {
	case kEchoNoDeadline:
		deadline = w.r.cfg.QueryTimeout
	case kCancelRead:
		deadline = time.Duration(w.rng.IntN(20_000)) * time.Microsecond
	case kCancelWrite:
		deadline = time.Duration(w.rng.IntN(10_000)) * time.Microsecond
	}
	if k != kEchoNoDeadline {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, deadline)
		defer cancel()
	}
	start := time.Now()
	w.cur.Store(&inflight{kind: k, size: size, start: start, deadline: deadline})
	wrong, err := w.do(ctx, k, op, tok, size)
	took := time.Since(start)
	w.cur.Store(nil)
	// The run's end cancels the calls still out: they must return as
	// promptly as at their deadline.
	limit := min(deadline, w.r.stopAt.Sub(start))
	w.c.record(w.r, k, size, tok, limit, took, wrong, err, ctx.Err())
}

// do runs the call of kind k and returns a description of a wrong answer
// ("" when right) and its error.
func (w *worker) do(ctx context.Context, k kind, op int64, tok string, size int) (string, error) {
	db := w.r.src
	switch k {
	case kEcho, kEchoNoDeadline:
		return echo(ctx, db, tok)
	case kPayload:
		return payload(ctx, db, tok, size)
	case kBigResult:
		return bigResult(ctx, db, tok, size)
	case kMany:
		return many(ctx, db, tok, []int{0, 1, 3, 100, 1000, 5000}[w.rng.IntN(6)])
	case kWrite:
		return w.write(ctx, db, op, tok, false)
	case kWriteRet:
		return w.write(ctx, db, op, tok, true)
	case kTx:
		return w.tx(ctx, op, tok)
	case kCancelRead:
		switch w.rng.IntN(3) {
		case 0:
			return many(ctx, db, tok, 5000)
		case 1:
			return bigResult(ctx, db, tok, 2<<20)
		default:
			return slow(ctx, db, tok, 0.05)
		}
	case kCancelWrite:
		return w.write(ctx, db, op, tok, false)
	case kPipeline:
		return w.pipeline(ctx, op, tok)
	case kGather:
		return w.gather(ctx, op, tok)
	case kStream:
		return stream(ctx, db, tok, 2000)
	case kPair:
		return pair(ctx, db, tok, size)
	}
	return "", fmt.Errorf("chaos: no kind %d", k)
}

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
	w.writes = append(w.writes, write{op: op, token: tok, parts: 1, acked: err == nil && wrong == ""})
	return wrong, err
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
	w.writes = append(w.writes, write{op: op, token: tok, parts: 2, acked: err == nil})
	if errors.Is(err, errWrong) {
		return wrong, nil
	}
	return wrong, err
}

// pipeline runs an echo, a :many and an insert through pgkit.Pipeline:
// the insert is acknowledged when Pipeline returned nil (a failure
// elsewhere in its round may roll it back).
func (w *worker) pipeline(ctx context.Context, op int64, tok string) (string, error) {
	var wrong [3]string
	err := pgkit.Pipeline(ctx, w.r.src, self,
		func(ctx context.Context, q pgkit.DBTX) (err error) {
			wrong[0], err = echo(ctx, q, tok+"~a")
			return err
		},
		func(ctx context.Context, q pgkit.DBTX) (err error) {
			wrong[1], err = many(ctx, q, tok+"~b", 3)
			return err
		},
		func(ctx context.Context, q pgkit.DBTX) (err error) {
			wrong[2], err = w.insert(ctx, q, op, 1, tok, false)
			return err
		},
	)
	w.writes = append(w.writes, write{op: op, token: tok, parts: 1, acked: err == nil && wrong[2] == ""})
	return joinWrong(wrong[:]), err
}

// gather runs an echo, a :many and an insert through pgkit.Gather: each
// its own autocommit statement, so the insert is acknowledged when its
// own function returned nil.
func (w *worker) gather(ctx context.Context, op int64, tok string) (string, error) {
	var wrong [3]string
	var writeErr error = errNotRun
	err := pgkit.Gather(ctx, w.r.src, self,
		func(ctx context.Context, q pgkit.DBTX) (err error) {
			wrong[0], err = echo(ctx, q, tok+"~a")
			return err
		},
		func(ctx context.Context, q pgkit.DBTX) (err error) {
			wrong[1], err = many(ctx, q, tok+"~b", 3)
			return err
		},
		func(ctx context.Context, q pgkit.DBTX) error {
			wrong[2], writeErr = w.insert(ctx, q, op, 1, tok, false)
			return writeErr
		},
	)
	w.writes = append(w.writes, write{op: op, token: tok, parts: 1, acked: writeErr == nil && wrong[2] == ""})
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
