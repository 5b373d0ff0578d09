package mux

import "time"

// The sweep bounds how long an admitted statement waits for a lane to
// take it. Admitted does not mean taken: behind statements known to be
// slow a lane takes nothing, and a lane may not open (transactions and
// streams hold the pool's connections). A statement some lane has room
// for is spared, however long it has waited: that lane takes it as soon
// as the result it is reading now arrives, exactly as it would have
// pipelined it behind that result had it come a moment earlier.
// (A lane reads while it waits for a result, so it takes new statements
// only between results: a statement that came during the first, not yet
// known slow, run of a long one used to fail with ErrPoolExhausted,
// while one that came just before it waited behind it on the wire.)

// planSweep makes sure the queue's statements that no lane takes within
// the acquire timeout fail then (sweep); m.mu is held. A statement past
// its deadline that a lane has room for is looked at again a sixteenth
// of the timeout later: its lane may have sent a slow statement since.
func (m *Mux) planSweep() {
	if m.sweeping || m.cfg.AcquireTimeout < 0 || len(m.queue) == 0 {
		return
	}
	m.sweeping = true
	spare := m.laneRoom()
	next := m.cfg.AcquireTimeout
	for i, req := range m.queue { // not oldest first: giveBack puts statements back in front
		left := m.cfg.AcquireTimeout - time.Since(req.start)
		if left <= 0 && i < spare {
			left = m.cfg.AcquireTimeout / 16
		}
		next = min(next, left)
	}
	time.AfterFunc(max(next, time.Millisecond), m.sweep)
}

// sweep fails the queued statements that have waited the whole acquire
// timeout since their callers asked and that no lane has room for, and
// plans the next sweep.
func (m *Mux) sweep() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweeping = false
	spare := m.laneRoom()
	var expired []*request
	kept := m.queue[:0]
	for _, req := range m.queue {
		if len(kept) >= spare && time.Since(req.start) >= m.cfg.AcquireTimeout && !m.closed {
			expired = append(expired, req)
			continue
		}
		kept = append(kept, req)
	}
	clear(m.queue[len(kept):])
	m.queue = kept
	for _, req := range expired {
		m.stats.Exhausted++
		m.answer(req, result{err: m.cfg.Exhausted()})
	}
	m.planSweep()
}

// laneRoom is how many of the queue's first statements the open lanes
// will take, by what each last said of its room (lane.free); m.mu is
// held. A lane with statements in flight takes more only when every lane
// is open and none is idle or starting (take's rule); otherwise only the
// lanes with nothing in flight count.
func (m *Mux) laneRoom() int {
	busyTake := len(m.idle) == 0 && m.starting == 0 && len(m.lanes) >= m.maxLanes
	room := 0
	for _, l := range m.lanes {
		if free := int(l.free.Load()); busyTake || free >= m.depth {
			room += free
		}
	}
	return room
}
