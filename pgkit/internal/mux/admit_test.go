package mux

import (
	"testing"
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
