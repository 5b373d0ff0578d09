package mux

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestAnsweredCallerFindsItsSlotFree: when a caller has its answer, the
// slot its statement held is free, whichever way it was answered (a lane
// without m.mu, or the sweep and a failed lane start under it). The hook
// holds the answering goroutine just after it woke the caller, so the
// caller looks while nothing more of the answer can happen: with the slot
// freed after the wake (as the reverted h18-mux merge did in
// answerDirect), the caller found pending still at the room, every time.
func TestAnsweredCallerFindsItsSlotFree(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer func(m *Mux, req *request)
	}{
		{"answerDirect", func(m *Mux, req *request) { m.answerDirect(req, result{}) }},
		{"answer", func(m *Mux, req *request) {
			m.mu.Lock()
			defer m.mu.Unlock()
			m.answer(req, result{})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &Mux{maxLanes: 1, depth: 1}
			m.pending.Store(1) // the one slot, held by req
			req := &request{done: make(chan struct{}, 1)}
			hold := make(chan struct{})
			testHookWoken = func() { <-hold }
			defer func() { testHookWoken = nil }()
			answered := make(chan struct{})
			go func() {
				defer close(answered)
				tc.answer(m, req)
			}()
			<-req.done
			// The answering goroutine is woken-but-held, or not yet at
			// the hook: either way it has nothing left to do but the hook.
			pending, room := m.pending.Load(), m.room()
			close(hold)
			<-answered
			if pending >= room {
				t.Fatalf("caller answered with pending %d of room %d: its slot was not free yet", pending, room)
			}
		})
	}
}

// TestWaitForRoomDecidesByTime: a wait for room woken late, when both the
// acquire timeout and the caller's end have passed, answers by which came
// first, not by which of the two select chose: the caller's deadline when
// it was earlier, or a cancel; ErrPoolExhausted's stand-in when the
// deadline was later. Both are ready before the wait starts, so select
// picks at random: with the timer's case taken as the acquire timeout
// (as before), an earlier deadline came back exhausted about half the
// time, and 40 tries saw it.
func TestWaitForRoomDecidesByTime(t *testing.T) {
	exhausted := errors.New("exhausted")
	const timeout = time.Second
	m := &Mux{maxLanes: 1, depth: 1, cfg: Config{AcquireTimeout: timeout, Exhausted: func() error { return exhausted }}}
	m.pending.Store(1)                    // full: the caller waits
	start := time.Now().Add(-2 * timeout) // the acquire timeout passed a second ago
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, c := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"earlier deadline", func() (context.Context, context.CancelFunc) {
			return context.WithDeadline(context.Background(), start.Add(timeout/2))
		}, context.DeadlineExceeded},
		{"later deadline", func() (context.Context, context.CancelFunc) {
			return context.WithDeadline(context.Background(), start.Add(timeout+timeout/2))
		}, exhausted},
		{"cancelled", func() (context.Context, context.CancelFunc) { return cancelled, func() {} }, context.Canceled},
		{"no end", func() (context.Context, context.CancelFunc) { return context.Background(), func() {} }, exhausted},
	} {
		for range 40 {
			ctx, stop := c.ctx()
			m.mu.Lock()
			err := m.waitForRoom(ctx, start) // returns with m.mu released on an error
			stop()
			if !errors.Is(err, c.want) {
				t.Fatalf("%s: %v, want %v", c.name, err, c.want)
			}
		}
	}
	if len(m.waitq) != 0 || m.pending.Load() != 1 {
		t.Errorf("after the waits: %d waiting, %d pending, want 0 and 1", len(m.waitq), m.pending.Load())
	}
}
