package pgkit

import (
	"context"
	"slices"
	"sync"
)

// PipelineInOrder is Pipeline with the first round's queries in the order
// of fns, whichever order their goroutines issue them in, for tests that
// need to know which fn reads its result while which other holds one.
// Every fn must issue a query before it returns. Later queries go as they
// come.
func PipelineInOrder[D DBTX, Q any](ctx context.Context, src DBTX, newQ func(D) Q, fns ...func(ctx context.Context, q Q) error) error {
	front := make(chan pipeRequest)
	defer close(front)
	var once sync.Once
	ordered := func(d D) Q {
		p := any(d).(pipeDBTX)
		once.Do(func() { go relayInOrder(front, p.requests, len(fns)) })
		return newQ(any(pipeDBTX{requests: front, fn: p.fn}).(D))
	}
	return Pipeline(ctx, src, ordered, fns...)
}

// relayInOrder passes the first n requests from front to requests sorted
// by fn, then the rest as they come.
func relayInOrder(front <-chan pipeRequest, requests chan<- pipeRequest, n int) {
	var first []pipeRequest
	for r := range front {
		first = append(first, r)
		if len(first) == n {
			break
		}
	}
	slices.SortFunc(first, func(a, b pipeRequest) int { return a.fn - b.fn })
	for _, r := range first {
		requests <- r
	}
	for r := range front {
		requests <- r
	}
}
