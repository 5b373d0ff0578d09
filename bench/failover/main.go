// Command failover measures shopdb across the failovers of a real
// high-availability cluster: a pg_auto_failover formation (a monitor, a
// primary and a synchronous standby on loopback, pgtemp.Formation) under
// writers placing orders through shop.PlaceOrder (pooled and
// multiplexed) and autocommit ledger inserts, while it is failed over
// again and again: planned failovers, kill -9 of the primary's
// postmaster, and the loss of the whole primary node. Per trigger it
// prints the write gap, when the new primary accepted writes, acknowledged
// writes lost, duplicates, writes reported failed that had committed,
// unknown outcomes, writes refused as read-only (25006), and reads served
// by standbys afterwards. It exits 1 when a write was lost, doubled or
// misreported, or writes came back later than 1 s after the new primary
// accepted them.
//
//	make failover                       # = cd bench && go run ./failover
//	go run ./failover -failovers 1 -kills 1 -losses 0 -writers 8
//
// It needs pg_auto_failover (Debian's pg-auto-failover-cli and
// postgresql-15-auto-failover; `make failover` installs them as root).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/shopdb/shopdb/pgkit/pgtemp"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the command line's.
type options struct {
	failovers, kills, losses int
	writers                  int
	settle                   time.Duration
}

func parse(args []string, stderr io.Writer) (options, int) {
	var o options
	fs := flag.NewFlagSet("failover", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // the errors are printed below, one line each
	fs.IntVar(&o.failovers, "failovers", 5, "planned failovers (pg_autoctl perform failover)")
	fs.IntVar(&o.kills, "kills", 3, "kill -9 of the primary's postmaster")
	fs.IntVar(&o.losses, "losses", 2, "losses of the whole primary node (keeper and postgres killed, brought back after)")
	fs.IntVar(&o.writers, "writers", 32, "concurrent writers: half place orders (pooled, multiplexed), a quarter insert ledger rows (pooled, multiplexed), a quarter read")
	fs.DurationVar(&o.settle, "settle", 3*time.Second, "writes before and after each trigger, once the cluster is whole again")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: failover [flags]\n\nMeasures shopdb's writes across failovers of a pg_auto_failover formation on loopback.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(os.Stdout)
			fs.Usage()
			return o, 0
		}
		fmt.Fprintf(stderr, "failover: %v (-h for help)\n", err)
		return o, 2
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "failover: unexpected argument %q\n", fs.Arg(0))
		return o, 2
	case o.failovers < 0 || o.kills < 0 || o.losses < 0:
		fmt.Fprintln(stderr, "failover: -failovers, -kills and -losses must be 0 or more")
		return o, 2
	case o.writers < 4:
		fmt.Fprintln(stderr, "failover: -writers must be 4 or more")
		return o, 2
	case o.settle <= 0:
		fmt.Fprintln(stderr, "failover: -settle must be positive")
		return o, 2
	}
	return o, -1
}

func run(args []string, stdout, stderr io.Writer) int {
	o, code := parse(args, stderr)
	if code >= 0 {
		return code
	}
	if err := pgtemp.FormationAvailable(); err != nil {
		fmt.Fprintln(stderr, "failover:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintln(stdout, "Starting a pg_auto_failover formation (monitor, primary, synchronous standby) on 127.0.0.1 …")
	f, err := pgtemp.StartFormation(ctx, pgtemp.FormationConfig{Database: "shop"})
	if err != nil {
		fmt.Fprintln(stderr, "failover:", err)
		return 1
	}
	defer f.Stop()
	h, err := newHarness(ctx, f, o.writers)
	if err != nil {
		fmt.Fprintln(stderr, "failover:", err)
		return 1
	}
	defer h.close()
	fmt.Fprintf(stdout, "DSN: %s\nWriters: %d; triggers: %d planned failovers, %d postmaster kills, %d node losses\n\n",
		f.URL(), o.writers, o.failovers, o.kills, o.losses)
	results, err := h.runSchedule(ctx, schedule(o), o.settle, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "failover:", err)
	}
	h.close() // the writers stop before the check reads what they wrote
	bad := h.report(ctx, stdout, results)
	if err != nil || bad {
		return 1
	}
	return 0
}

// trigger is a fault to inject.
type trigger int

const (
	plannedFailover trigger = iota
	postmasterKill
	nodeLoss
)

func (t trigger) String() string {
	return [...]string{"planned failover", "postmaster kill -9", "node loss"}[t]
}

// schedule interleaves the triggers, planned failovers first.
func schedule(o options) []trigger {
	var out []trigger
	left := map[trigger]int{plannedFailover: o.failovers, postmasterKill: o.kills, nodeLoss: o.losses}
	for left[plannedFailover]+left[postmasterKill]+left[nodeLoss] > 0 {
		for _, t := range []trigger{plannedFailover, postmasterKill, nodeLoss} {
			if left[t] > 0 {
				out = append(out, t)
				left[t]--
			}
		}
	}
	return out
}
