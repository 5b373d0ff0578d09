package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/shopdb/shopdb/db"
)

// result is one mode's measurement.
type result struct {
	n         int
	elapsed   time.Duration
	latencies []time.Duration // sorted
}

func (r result) perSecond() float64 { return float64(r.n) / r.elapsed.Seconds() }

func (r result) percentile(p int) string {
	if len(r.latencies) == 0 {
		return "-"
	}
	i := min(len(r.latencies)-1, len(r.latencies)*p/100)
	return fmt.Sprintf("%.2f ms", float64(r.latencies[i].Microseconds())/1000)
}

// runLoad keeps cfg.inflight fetches going for the warm-up and then for the
// measured duration, and reports the measured part.
func runLoad(ctx context.Context, cfg config, d *db.DB, fetch fetchFunc) (result, error) {
	warmEnd := time.Now().Add(cfg.warmup)
	end := warmEnd.Add(cfg.duration)
	var mu sync.Mutex
	var all []time.Duration
	var firstErr error
	var wg sync.WaitGroup
	for w := range cfg.inflight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 42))
			var mine []time.Duration
			for {
				now := time.Now()
				if now.After(end) || ctx.Err() != nil {
					break
				}
				productID := 1 + r.Int64N(int64(cfg.seed.products))
				userID := 1 + r.Int64N(int64(cfg.seed.users))
				if err := fetch(ctx, d, productID, userID); err != nil {
					mu.Lock()
					firstErr = cmpOr(firstErr, err)
					mu.Unlock()
					return
				}
				if now.After(warmEnd) {
					mine = append(mine, time.Since(now))
				}
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return result{}, firstErr
	}
	slices.Sort(all)
	return result{n: len(all), elapsed: cfg.duration, latencies: all}, nil
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
