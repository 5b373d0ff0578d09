package pgkit_test

// Outside look at Pipeline: a randomized stress of N fns (1..16), each
// issuing 0..10 rounds of queries whose answers name the fn and the round,
// with random failures, early ends (error, panic, runtime.Goexit), rows let
// go of early or left open, and random cancellation. Every answer a fn gets
// must be its own; Pipeline's error must be one a fn returned (or a query's
// that a fn ignored); no goroutine of the call may outlive it; and every
// connection of the source must answer a fresh query afterwards, with
// nothing left on it.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopdb/shopdb/pgkit"
)

const (
	osRow = iota
	osQuery
	osExec
	osFail
	osSleep
)

const (
	endNil = iota
	endErr
	endPanic
	endGoexit
)

type osAct struct {
	kind    int
	n       int  // osQuery: rows
	pad     int  // osQuery: bytes of padding per row (1024 x 1000 rows = 1 MB)
	readK   int  // osQuery: close after k rows (-1: read all)
	leave   bool // osQuery: go to the end with the rows open (last act only)
	failVia int  // osFail: 0 QueryRow, 1 Query (fails on its third row), 2 Exec
	ignore  bool // osFail: go on after the error
}

type osPlan struct {
	acts []osAct
	end  int
}

// osRun is one Pipeline call of the stress and what its fns saw.
type osRun struct {
	t        *testing.T
	where    string
	plans    []osPlan
	mu       sync.Mutex
	returned []error // what each fn returned (nil too)
	done     []bool  // fn returned (not by Goexit or panic)
	started  bool    // a fn began
	observed [][]error
	bad      []string // an answer that was not the fn's own, or a failure that was not reported
}

func (s *osRun) badf(format string, args ...any) {
	s.mu.Lock()
	s.bad = append(s.bad, fmt.Sprintf(format, args...))
	s.mu.Unlock()
}

func osPlans(rng *rand.Rand, n int, failures bool) []osPlan {
	plans := make([]osPlan, n)
	for i := range plans {
		rounds := rng.IntN(11)
		for r := range rounds {
			a := osAct{kind: rng.IntN(5), readK: -1}
			if !failures && a.kind == osFail {
				a.kind = osRow
			}
			switch a.kind {
			case osQuery:
				switch rng.IntN(4) {
				case 0:
					a.n = 0
				case 1:
					a.n, a.pad = 1000, 1024
				default:
					a.n = 1 + rng.IntN(50)
				}
				if failures && a.n > 0 && rng.IntN(5) == 0 {
					a.readK = rng.IntN(a.n)
				}
				a.leave = failures && r == rounds-1 && rng.IntN(3) == 0
			case osFail:
				a.failVia, a.ignore = rng.IntN(3), rng.IntN(2) == 0
			}
			plans[i].acts = append(plans[i].acts, a)
		}
		if failures {
			switch rng.IntN(10) {
			case 0:
				plans[i].end = endErr
			case 1:
				plans[i].end = endPanic
			case 2:
				plans[i].end = endGoexit
			}
		}
	}
	return plans
}

type osSentinel struct{ fn int }

func (e *osSentinel) Error() string { return fmt.Sprintf("fn %d's own error", e.fn) }

func (s *osRun) fn(i int) func(context.Context, pgkit.DBTX) error {
	return func(ctx context.Context, q pgkit.DBTX) (ret error) {
		s.mu.Lock()
		s.started = true
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			s.returned[i], s.done[i] = ret, true
			s.mu.Unlock()
		}()
		pl := s.plans[i]
		for r, a := range pl.acts {
			err, open := s.do(ctx, q, i, r, a)
			if open != nil {
				_ = open // left open on purpose: Pipeline drops it
				break
			}
			if err != nil {
				s.mu.Lock()
				s.observed[i] = append(s.observed[i], err)
				s.mu.Unlock()
				if a.kind == osFail && a.ignore {
					continue
				}
				return err
			}
		}
		switch pl.end {
		case endErr:
			return &osSentinel{i}
		case endPanic:
			panic(fmt.Sprintf("fn %d panics", i))
		case endGoexit:
			runtime.Goexit()
		}
		return nil
	}
}

// do runs act a of fn i's round r and checks its answer; a query left open
// (a.leave) is returned as open.
func (s *osRun) do(ctx context.Context, q pgkit.DBTX, i, r int, a osAct) (err error, open any) {
	switch a.kind {
	case osRow, osSleep:
		sql := "SELECT $1::int, $2::int"
		if a.kind == osSleep {
			sql = "SELECT $1::int, $2::int FROM pg_sleep(0.02)"
		}
		var gi, gr int
		if err := q.QueryRow(ctx, sql, i, r).Scan(&gi, &gr); err != nil {
			return err, nil
		}
		if gi != i || gr != r {
			s.badf("fn %d round %d: QueryRow answered fn %d round %d", i, r, gi, gr)
		}
	case osExec:
		k := i*11 + r + 1
		tag, err := q.Exec(ctx, "SELECT g FROM generate_series(1, $1::int) g", k)
		if err != nil {
			return err, nil
		}
		if tag.String() != "SELECT "+strconv.Itoa(k) {
			s.badf("fn %d round %d: Exec's tag %q, want SELECT %d", i, r, tag, k)
		}
	case osQuery:
		rows, err := q.Query(ctx, "SELECT $1::int, $2::int, g, repeat('x', $4::int) FROM generate_series(1, $3::int) g", i, r, a.n, a.pad)
		if err != nil {
			return err, nil
		}
		if a.leave {
			if rows.Next() {
				var gi, gr, g int
				var pad string
				if err := rows.Scan(&gi, &gr, &g, &pad); err == nil && (gi != i || gr != r || g != 1) {
					s.badf("fn %d round %d: Query's first row is fn %d round %d g %d", i, r, gi, gr, g)
				}
			}
			return nil, rows
		}
		defer rows.Close()
		got := 0
		for rows.Next() {
			var gi, gr, g int
			var pad string
			if err := rows.Scan(&gi, &gr, &g, &pad); err != nil {
				return err, nil
			}
			got++
			if gi != i || gr != r || g != got || len(pad) != a.pad {
				s.badf("fn %d round %d: Query's row %d is fn %d round %d g %d pad %d", i, r, got, gi, gr, g, len(pad))
			}
			if got == a.readK {
				rows.Close()
				return nil, nil
			}
		}
		if err := rows.Err(); err != nil {
			return err, nil
		}
		if got != a.n {
			s.badf("fn %d round %d: Query gave %d rows, want %d, and no error", i, r, got, a.n)
		}
	case osFail:
		switch a.failVia {
		case 0:
			var v int
			err = q.QueryRow(ctx, "SELECT 1/($1::int - $1::int)", i).Scan(&v)
		case 1:
			var rows interface {
				Next() bool
				Err() error
				Close()
			}
			rows, err = q.Query(ctx, "SELECT $1::int, 1/(g-3) FROM generate_series(1, 5) g", i)
			if err == nil {
				n := 0
				for rows.Next() {
					n++
				}
				rows.Close()
				err = rows.Err()
				if n > 2 {
					s.badf("fn %d round %d: the failing Query gave %d rows", i, r, n)
				}
			}
		case 2:
			_, err = q.Exec(ctx, "SELECT 1/($1::int - $1::int)", i)
		}
		if err == nil {
			s.badf("fn %d round %d: the query that divides by zero (via %d) reported no error", i, r, a.failVia)
			return nil, nil
		}
		return err, nil
	}
	return nil, nil
}

// osPipeline is how a source runs a Pipeline of fns, and checks itself after.
type osSource struct {
	name    string
	timeout bool // Config.QueryTimeout is set: a round may time out
	// noGoexit0: fn 0 never ends in Goexit (WithTx leaks the connection
	// then: TestPipelineOutsideGoexitFn0InWithTx)
	noGoexit0 bool
	run       func(ctx context.Context, fns []func(context.Context, pgkit.DBTX) error) error
	check     func(t *testing.T, where string)
}

// pipeGoroutines counts the goroutines running a Pipeline or a fn of these
// tests.
func pipeGoroutines() (int, string) {
	buf := make([]byte, 1<<22)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	var sample string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "pgkit.(*pipe)") || strings.Contains(g, "pgkit.runPipeline") || strings.Contains(g, "pgkit.pipeDBTX") || strings.Contains(g, "(*osRun)") {
			if strings.Contains(g, "pipeGoroutines") {
				continue
			}
			n++
			if sample == "" {
				sample = g
			}
		}
	}
	return n, sample
}

func waitNoPipeGoroutines(t *testing.T, where string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, sample := pipeGoroutines()
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d goroutine(s) of Pipeline or its fns still running 10s after it returned, e.g.:\n%s", where, n, sample)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func dumpAll() string {
	buf := make([]byte, 1<<22)
	return string(buf[:runtime.Stack(buf, true)])
}

// osOnce runs one Pipeline of plans on src and checks everything.
func osOnce(t *testing.T, src osSource, where string, plans []osPlan, cancelAfter time.Duration) (summary string) {
	t.Helper()
	s := &osRun{t: t, where: where, plans: plans, returned: make([]error, len(plans)), done: make([]bool, len(plans)), observed: make([][]error, len(plans))}
	fns := make([]func(context.Context, pgkit.DBTX) error, len(plans))
	for i := range fns {
		fns[i] = s.fn(i)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if cancelAfter >= 0 {
		tm := time.AfterFunc(cancelAfter, cancel)
		defer tm.Stop()
	}
	var pipeErr error
	returned := false
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		pipeErr = src.run(ctx, fns)
		returned = true
	}()
	select {
	case <-exited:
	case <-time.After(60 * time.Second):
		t.Fatalf("%s: Pipeline has not returned after 60s (plans %+v):\n%s", where, plans, dumpAll())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	summary = fmt.Sprintf("plans %+v, cancel after %v; Pipeline returned %v (returned: %v); fns returned %v", plans, cancelAfter, pipeErr, returned, s.returned)
	for _, b := range s.bad {
		t.Errorf("%s: %s (plans %+v)", where, b, plans)
	}
	goexit0 := plans[0].end == endGoexit && !returned
	if !returned && !goexit0 {
		t.Fatalf("%s: the caller's goroutine ended inside Pipeline, fn 0 did not call Goexit", where)
	}
	failures, disturbed := false, cancelAfter >= 0 || src.timeout
	for i, pl := range plans {
		if pl.end != endNil {
			failures = true
		}
		for _, a := range pl.acts {
			failures = failures || a.kind == osFail
		}
		if s.started && !s.done[i] && pl.end != endGoexit && pl.end != endPanic {
			t.Errorf("%s: fn %d never returned although Pipeline did", where, i)
		}
	}
	if !returned {
		return summary
	}
	if !s.started {
		if cancelAfter < 0 || !errors.Is(pipeErr, context.Canceled) {
			t.Errorf("%s: no fn ran, Pipeline returned %v", where, pipeErr)
		}
		return summary
	}
	var anyRet []error
	anyObserved := false
	for i := range plans {
		if s.returned[i] != nil {
			anyRet = append(anyRet, s.returned[i])
		}
		anyObserved = anyObserved || len(s.observed[i]) > 0
		if plans[i].end == endPanic || plans[i].end == endGoexit {
			anyRet = append(anyRet, errors.New("end"))
		}
	}
	if !failures && !disturbed {
		if pipeErr != nil || anyObserved {
			t.Errorf("%s: nothing failed, yet Pipeline returned %v; fns saw %v", where, pipeErr, s.observed)
		}
	}
	if len(anyRet) > 0 && pipeErr == nil {
		t.Errorf("%s: fns returned %v, yet Pipeline returned nil", where, anyRet)
	}
	if len(anyRet) == 0 && anyObserved && pipeErr == nil {
		t.Errorf("%s: a query failed (fns saw %v and ignored it), yet Pipeline returned nil", where, s.observed)
	}
	if len(anyRet) == 0 && !anyObserved && pipeErr != nil && !disturbed {
		t.Errorf("%s: every fn returned nil and saw no error, yet Pipeline returned %v", where, pipeErr)
	}
	if len(anyRet) > 0 && pipeErr != nil {
		ok := strings.Contains(pipeErr.Error(), "panicked") || strings.Contains(pipeErr.Error(), "Goexit")
		for _, e := range anyRet {
			ok = ok || errors.Is(pipeErr, e) || pipeErr.Error() == e.Error()
		}
		if !ok {
			t.Errorf("%s: Pipeline returned %v, which no fn returned (they returned %v)", where, pipeErr, anyRet)
		}
		if cancelAfter < 0 && !src.timeout && errors.Is(pipeErr, context.Canceled) {
			var se *osSentinel
			if !errors.As(pipeErr, &se) {
				t.Errorf("%s: Pipeline returned the cancellation %v, caused by a fn's error it should have returned (%v)", where, pipeErr, anyRet)
			}
		}
	}
	return summary
}

func osEnvInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// osStress runs iters random Pipelines on src.
func osStress(t *testing.T, src osSource, iters int) {
	seed := uint64(osEnvInt("OUTSIDE_SEED", int(time.Now().UnixNano()%1e9)))
	t.Logf("%s: OUTSIDE_SEED=%d", src.name, seed)
	rng := rand.New(rand.NewPCG(seed, 19))
	for it := range iters {
		where := fmt.Sprintf("%s seed %d iter %d", src.name, seed, it)
		failures := rng.IntN(2) == 0
		cancelAfter := time.Duration(-1)
		if failures && rng.IntN(4) == 0 {
			cancelAfter = time.Duration(rng.IntN(20_000)) * time.Microsecond
		}
		plans := osPlans(rng, 1+rng.IntN(16), failures)
		if src.noGoexit0 && plans[0].end == endGoexit {
			plans[0].end = endPanic
		}
		summary := osOnce(t, src, where, plans, cancelAfter)
		if !t.Failed() {
			waitNoPipeGoroutines(t, where)
		}
		if !t.Failed() {
			src.check(t, where)
		}
		if t.Failed() {
			t.Logf("%s: %s", where, summary)
			return
		}
	}
}
