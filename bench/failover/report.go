package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// tally is what the database holds of one window's attempts, by outcome.
type tally struct {
	attempts, acked, failed, unknown, readOnly int
	lost                                       int // acknowledged, not stored
	splitLost                                  int // acknowledged by a split formation's old primary, not stored: the cluster's loss
	duplicates                                 int // stored more than once
	misreport                                  int // reported failed (not unknown), stored
	unknownIn                                  int // unknown, and stored: it had committed
}

// check reads back every attempted customer's orders and every ledger
// token, on the primary, and tallies them per trigger window.
func (h *harness) check(ctx context.Context) (map[int]*tally, error) {
	conn, err := pgx.Connect(ctx, h.f.URL())
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	stored := map[string]int{}
	for _, q := range []string{
		`SELECT 'order ' || user_id, count(*) FROM orders GROUP BY user_id`,
		`SELECT 'ledger ' || token, count(*) FROM failover_ledger GROUP BY token`,
	} {
		rows, err := conn.Query(ctx, q)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var k string
			var n int
			if err := rows.Scan(&k, &n); err != nil {
				return nil, err
			}
			stored[k] = n
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[int]*tally{}
	for _, a := range h.attempts {
		t := out[a.window]
		if t == nil {
			t = &tally{}
			out[a.window] = t
		}
		n := stored[strings.Fields(a.kind)[0]+" "+a.key]
		t.attempts++
		if n > 1 {
			t.duplicates++
		}
		switch a.outcome {
		case acked:
			t.acked++
			switch {
			case n > 0:
			case h.watch.SplitBrain(a.at):
				t.splitLost++
			default:
				t.lost++
			}
		case unknown:
			t.unknown++
			if n > 0 {
				t.unknownIn++
			}
		case failed, readOnly:
			if a.outcome == readOnly {
				t.readOnly++
			}
			t.failed++
			if n > 0 {
				t.misreport++
			}
		}
	}
	return out, nil
}

// report checks the database and prints a line per trigger; it reports
// whether anything was wrong.
func (h *harness) report(ctx context.Context, out io.Writer, results []triggerResult) bool {
	tallies, err := h.check(ctx)
	defer h.printErrors(out)
	if err != nil {
		fmt.Fprintln(out, "check:", err)
		return true
	}
	bad := false
	split := 0
	fmt.Fprintln(out, "\n| # | trigger | new primary writable after | longest write gap | our first write after it | writes | acked | failed | 25006 | unknown (committed) | acked lost (by a split cluster) | duplicates | failed but committed | standby reads after (first after whole) |")
	fmt.Fprintln(out, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for i, r := range results {
		t := tallies[i]
		if t == nil {
			t = &tally{}
		}
		fmt.Fprintf(out, "| %d | %s | %s | %s | %s | %d | %d | %d | %d | %d (%d) | %d (%d) | %d | %d | %d (%s) |\n",
			i+1, r.trigger, secs(r.primaryAfter), secs(r.maxGap), secs(r.firstWrite), t.attempts, t.acked, t.failed, t.readOnly,
			t.unknown, t.unknownIn, t.lost, t.splitLost, t.duplicates, t.misreport, r.standbyReads, secs(r.standbyBack))
		split += t.splitLost
		if t.lost+t.duplicates+t.misreport > 0 || r.firstWrite > time.Second || r.firstWrite < 0 {
			bad = true
		}
	}
	if t := tallies[len(results)]; t != nil {
		fmt.Fprintf(out, "\nAfter the last trigger: %d writes, %d acked, %d failed, %d lost, %d duplicates, %d failed but committed.\n",
			t.attempts, t.acked, t.failed, t.lost, t.duplicates, t.misreport)
		split += t.splitLost
		if t.lost+t.duplicates+t.misreport > 0 {
			bad = true
		}
	}
	if h.watch.Splits() > 0 {
		fmt.Fprintf(out, "\nThe formation split %d time(s): an old primary stayed writable, without its standby, while pg_auto_failover promoted the other node (its 2.0's bug, upstream issue #774); %d acknowledged writes were lost there, by the cluster, and are not counted as ours. The monitor's view:\n%s",
			h.watch.Splits(), split, h.watch.Timeline())
	}
	if bad {
		fmt.Fprintln(out, "\nFAIL: a write was lost, doubled or misreported, or ours came back more than 1 s after the new primary accepted writes.")
	} else {
		fmt.Fprintln(out, "\nOK: no write lost, doubled or misreported; writes back within 1 s of the new primary.")
	}
	return bad
}

func secs(d time.Duration) string {
	if d < 0 {
		return "—"
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

// printErrors lists the failures by trigger window, writer and class.
func (h *harness) printErrors(out io.Writer) {
	h.mu.Lock()
	defer h.mu.Unlock()
	keys := make([]string, 0, len(h.errs))
	for k := range h.errs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintln(out, "\nFailures by trigger (the window of trigger N ends when trigger N+1 begins), writer and error:")
	for _, k := range keys {
		fmt.Fprintf(out, "%7d  %s\n", h.errs[k], k)
	}
}
