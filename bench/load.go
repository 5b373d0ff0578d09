package main

import (
	"context"
	"sync"
	"time"
)

// closedLoop keeps workers goroutines calling op back to back for the
// warm-up and then for the measured duration, and returns the measured
// operations' latencies. The first error stops it.
func closedLoop(ctx context.Context, workers int, warmup, duration time.Duration, op func(ctx context.Context, worker, i int) error) ([]time.Duration, error) {
	warmEnd := time.Now().Add(warmup)
	end := warmEnd.Add(duration)
	var mu sync.Mutex
	var all []time.Duration
	var firstErr error
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for i := 0; ; i++ {
				start := time.Now()
				if start.After(end) || ctx.Err() != nil {
					break
				}
				if err := op(ctx, w, i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				if start.After(warmEnd) {
					mine = append(mine, time.Since(start))
				}
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return all, firstErr
}
