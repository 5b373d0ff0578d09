package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/migrate"
	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgtemp"
	"github.com/shopdb/shopdb/shop"
)

// seedUsers is how many customers are made up front: each order attempt
// is for a customer of its own, so that a customer with two orders is a
// duplicate and one with an order its attempt was told failed is a
// misreported commit.
const seedUsers = 1_500_000

// harness is the formation, the pools under test and what every attempt
// came to.
type harness struct {
	f      *pgtemp.Formation
	watch  *pgtemp.FormationWatch // the monitor's view, to tell the cluster's losses from ours
	pooled *pgkit.DB
	muxed  *pgkit.DB
	repl   *pgkit.Replicated

	nextUser atomic.Int64
	window   atomic.Int64 // the trigger whose window attempts start in

	mu       sync.Mutex
	attempts []attempt
	oks      []time.Time // when each write was acknowledged, in order
	reads    []read
	errs     map[string]int // "window kind: class" -> failures

	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// attempt is one write and what its caller was told.
type attempt struct {
	window  int
	kind    string // "order pooled", "order multiplexed", "ledger pooled", "ledger multiplexed"
	key     string // the customer (orders) or the token (ledger)
	outcome outcome
	at      time.Time // when its caller was told
}

type outcome int

const (
	acked outcome = iota
	failed
	unknown
	readOnly // failed with 25006: a write on a read-only server
)

// read is one read through the Replicated: when, and whether a standby
// served it.
type read struct {
	at      time.Time
	standby bool
}

func newHarness(ctx context.Context, f *pgtemp.Formation, writers int) (*harness, error) {
	if err := migrate.Up(ctx, f.URL()); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	conn, err := pgx.Connect(ctx, f.URL())
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, sql := range []string{
		`CREATE TABLE IF NOT EXISTS failover_ledger (token text NOT NULL)`,
		fmt.Sprintf(`INSERT INTO users (first_name, last_name) SELECT 'F', 'L' FROM generate_series(1, %d)`, seedUsers),
		fmt.Sprintf(`INSERT INTO products (sku, name, price_cents, stock) SELECT 'sku-' || i, 'P', 100, 2000000000 FROM generate_series(1, %d) i`, writers),
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			return nil, fmt.Errorf("seed: %w", err)
		}
	}
	var first int64
	if err := conn.QueryRow(ctx, `SELECT min(user_id) FROM users`).Scan(&first); err != nil {
		return nil, err
	}
	h := &harness{f: f, stop: make(chan struct{}), watch: f.Watch(ctx)}
	h.nextUser.Store(first - 1)
	cfg := pgkit.Config{MaxConns: int32(writers), AcquireTimeout: 10 * time.Second, CommitResolveTimeout: time.Minute, ApplicationName: "failover"}
	if h.pooled, err = pgkit.Open(ctx, f.URL(), cfg); err != nil {
		return nil, err
	}
	mcfg := cfg
	mcfg.Multiplex = true
	if h.muxed, err = pgkit.Open(ctx, f.URL(), mcfg); err != nil {
		h.pooled.Close()
		return nil, err
	}
	if h.repl, err = pgkit.OpenReplicated(ctx, f.URL(), []string{f.NodeURL(0), f.NodeURL(1)}, cfg, pgkit.ReplicaConfig{CheckInterval: time.Second}); err != nil {
		h.pooled.Close()
		h.muxed.Close()
		return nil, err
	}
	h.start(ctx, writers)
	return h, nil
}

// start runs the writers and readers until close.
func (h *harness) start(ctx context.Context, writers int) {
	kinds := []func(int) (string, string, error){}
	for w := range writers {
		product := int64(w%writers) + 1
		switch w % 8 {
		case 0, 1, 2:
			kinds = append(kinds, h.order("order pooled", h.pooled, product))
		case 3, 4, 5:
			kinds = append(kinds, h.order("order multiplexed", h.muxed, product))
		case 6:
			kinds = append(kinds, h.ledger("ledger pooled", h.pooled, w))
		case 7:
			if w%16 == 7 {
				kinds = append(kinds, h.ledger("ledger multiplexed", h.muxed, w))
			} else {
				kinds = append(kinds, nil) // a reader
			}
		}
	}
	for _, k := range kinds {
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			for {
				select {
				case <-h.stop:
					return
				default:
				}
				if k == nil {
					h.readOnce(ctx)
					continue
				}
				kind, key, err := k(int(h.window.Load()))
				if key == "" {
					return // out of customers
				}
				h.note(kind, key, err)
				if err != nil {
					time.Sleep(time.Duration(5+rand.N(15)) * time.Millisecond)
				}
			}
		}()
	}
}

// order places an order for a customer of its own.
func (h *harness) order(kind string, db *pgkit.DB, product int64) func(int) (string, string, error) {
	return func(int) (string, string, error) {
		user := h.nextUser.Add(1)
		if user > seedUsers {
			return kind, "", nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		_, err := shop.PlaceOrder(ctx, db, user, []shop.OrderLine{{ProductID: product, Quantity: 1}}, pgkit.TxOptions{})
		return kind, fmt.Sprint(user), err
	}
}

// ledger inserts a row with a token of its own, outside a transaction.
func (h *harness) ledger(kind string, db *pgkit.DB, w int) func(int) (string, string, error) {
	var n int
	return func(int) (string, string, error) {
		n++
		token := fmt.Sprintf("%d-%d", w, n)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := db.Exec(ctx, `INSERT INTO failover_ledger (token) VALUES ($1)`, token)
		return kind, token, err
	}
}

// readOnce reads through the Replicated and notes whether a standby
// answered.
func (h *harness) readOnce(ctx context.Context) {
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var standby bool
	if err := h.repl.QueryRow(rctx, `SELECT pg_is_in_recovery()`).Scan(&standby); err != nil {
		time.Sleep(20 * time.Millisecond)
		return
	}
	h.mu.Lock()
	h.reads = append(h.reads, read{at: time.Now(), standby: standby})
	h.mu.Unlock()
	time.Sleep(5 * time.Millisecond)
}

// note records an attempt's outcome.
func (h *harness) note(kind, key string, err error) {
	o := acked
	switch {
	case err == nil:
	case pgerr.IsCommitUnknown(err):
		o = unknown
	case pgerr.SQLState(err) == "25006":
		o = readOnly // a write on a server that is (or turned) read-only
	default:
		o = failed
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if err != nil {
		if h.errs == nil {
			h.errs = map[string]int{}
		}
		h.errs[fmt.Sprintf("%d %s: %s", h.window.Load()+1, kind, errClass(err))]++
	}
	now := time.Now()
	h.attempts = append(h.attempts, attempt{window: int(h.window.Load()), kind: kind, key: key, outcome: o, at: now})
	if o == acked {
		h.oks = append(h.oks, now)
	}
}

// errClass is an error's first words (no values, addresses or ids).
func errClass(err error) string {
	msg := err.Error()
	var parts []string
	for _, p := range strings.SplitN(msg, ": ", 4)[:min(3, len(strings.SplitN(msg, ": ", 4)))] {
		if strings.ContainsAny(p, "0123456789") {
			break
		}
		parts = append(parts, p)
	}
	if code := pgerr.SQLState(err); code != "" {
		parts = append(parts, "SQLSTATE "+code)
	}
	return strings.Join(parts, ": ")
}

// close stops the writers and readers and closes the pools; it can be
// called twice.
func (h *harness) close() {
	h.closeOnce.Do(h.shut)
}

func (h *harness) shut() {
	close(h.stop)
	h.wg.Wait()
	h.watch.Stop()
	h.repl.Close()
	h.muxed.Close()
	h.pooled.Close()
}

// triggerResult is what one trigger's window measured.
type triggerResult struct {
	trigger      trigger
	start        time.Time     // the fault
	primaryAfter time.Duration // until the new primary accepted a write
	wholeAfter   time.Duration // until the standby was back in sync
	maxGap       time.Duration // the longest time without an acknowledged write
	firstWrite   time.Duration // from the new primary's first write to ours
	standbyBack  time.Duration // from the standby's return to a read it served; -1: none
	standbyReads int
	err          error
}

// runSchedule injects each trigger in turn.
func (h *harness) runSchedule(ctx context.Context, sched []trigger, settle time.Duration, out io.Writer) ([]triggerResult, error) {
	var results []triggerResult
	for i, t := range sched {
		h.window.Store(int64(i))
		select {
		case <-ctx.Done():
			return results, ctx.Err()
		case <-time.After(settle):
		}
		r := h.inject(ctx, t)
		r.standbyBack, r.standbyReads = h.standbyReadsAfter(r.start.Add(r.wholeAfter), settle)
		results = append(results, r)
		fmt.Fprintf(out, "%2d %-20s new primary writable after %6.2fs, whole after %6.2fs%s\n", i+1, t, r.primaryAfter.Seconds(), r.wholeAfter.Seconds(), errText(r.err))
		if r.err != nil {
			return results, r.err
		}
	}
	h.window.Store(int64(len(sched)))
	time.Sleep(settle)
	return results, nil
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return ": " + err.Error()
}

// inject runs trigger t and waits until the formation is whole again.
func (h *harness) inject(ctx context.Context, t trigger) triggerResult {
	r := triggerResult{trigger: t, standbyBack: -1}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	old, err := h.f.Primary(ctx)
	if err != nil {
		r.err = err
		return r
	}
	r.start = time.Now()
	var at time.Time
	switch t {
	case plannedFailover:
		_, at, err = h.f.FailoverTimed(ctx)
	case postmasterKill:
		if err = h.f.KillPostmaster(ctx, old); err == nil {
			_, at, err = h.f.WaitPrimary(ctx)
		}
	case nodeLoss:
		if err = h.f.KillNode(ctx, old); err == nil {
			_, at, err = h.f.WaitNewPrimary(ctx, old)
		}
		if err == nil {
			err = h.f.RestartNode(ctx, old)
		}
	}
	if err == nil {
		err = h.f.WaitSecondary(ctx)
	}
	r.err = err
	r.primaryAfter = at.Sub(r.start)
	r.wholeAfter = time.Since(r.start)
	r.maxGap, r.firstWrite = h.gaps(r.start, at)
	return r
}

// gaps measures, from the fault on, the longest time without an
// acknowledged write, and how long after the new primary's first write
// (at) the first of ours was acknowledged.
func (h *harness) gaps(from, at time.Time) (maxGap, first time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	prev := from
	first = -1
	for _, ok := range h.oks {
		if ok.Before(from) {
			continue
		}
		maxGap = max(maxGap, ok.Sub(prev))
		prev = ok
		if first < 0 && !ok.Before(at) {
			first = ok.Sub(at)
		}
	}
	return maxGap, first
}

// standbyReadsAfter waits settle and counts the reads standbys served
// from whole on, and how long after whole the first came.
func (h *harness) standbyReadsAfter(whole time.Time, settle time.Duration) (time.Duration, int) {
	time.Sleep(settle)
	h.mu.Lock()
	defer h.mu.Unlock()
	back, n := time.Duration(-1), 0
	for _, rd := range h.reads {
		if rd.at.Before(whole) || !rd.standby {
			continue
		}
		if back < 0 {
			back = rd.at.Sub(whole)
		}
		n++
	}
	return back, n
}
