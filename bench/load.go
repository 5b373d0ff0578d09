package main

import (
	"context"
	"sync"
	"time"
)

// timedLoop is closedLoop with p's sizes and CPU meter: the Result of the
// operations started in the measured time, with the client's and the
// server's CPU per operation.
func timedLoop(ctx context.Context, p params, workers int, op func(ctx context.Context, worker, i int) error) (Result, error) {
	m := p.meter()
	lat, err := closedLoop(ctx, workers, p.warmup, p.duration, m, op)
	r := latencyResult(lat, p.duration)
	m.stop(&r, r.Count)
	return r, err
}

// closedLoop keeps workers goroutines calling op back to back for the
// warm-up and then for the measured duration, and returns the measured
// operations' latencies. The first error stops it. m, when not nil, is
// started as the warm-up ends; the caller stops it.
func closedLoop(ctx context.Context, workers int, warmup, duration time.Duration, m *cpuMeter, op func(ctx context.Context, worker, i int) error) ([]time.Duration, error) {
	warmEnd := time.Now().Add(warmup)
	end := warmEnd.Add(duration)
	metered := make(chan struct{})
	go func() {
		defer close(metered)
		t := time.NewTimer(time.Until(warmEnd))
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		if m != nil {
			m.start()
		}
	}()
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
	<-metered
	return all, firstErr
}
