package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

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
	kind  kind
	size  int
	start time.Time
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
	done   atomic.Bool              // set when loop has returned
}

// loop makes calls until the run's end.
func (w *worker) loop() {
	defer w.done.Store(true)
	for w.r.ctx.Err() == nil {
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
	if size >= 1<<20 {
		// Left to finish (or reach their deadline): cancelled while it
		// writes a large argument, a connection stays in use for up to
		// 15s (pgx's asynchronous close), which would draw the run out.
		ctx = context.WithoutCancel(ctx)
	}
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
	w.cur.Store(&inflight{kind: k, size: size, start: start})
	wrong, err := w.do(ctx, k, op, tok, size)
	took := time.Since(start)
	w.cur.Store(nil)
	// The run's end cancels the calls still out: they must return as
	// promptly as at their deadline.
	limit := deadline
	if errors.Is(ctx.Err(), context.Canceled) {
		limit = min(deadline, time.Unix(0, w.r.stopped.Load()).Sub(start))
	}
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
