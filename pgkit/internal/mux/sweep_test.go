package mux

import "testing"

// TestLaneRoom: the queued statements the sweep spares are those the
// lanes have said they have room for (lane.free), counting a busy lane's
// room only when busy lanes take more (take's rule: every lane open, none
// idle or starting).
func TestLaneRoom(t *testing.T) {
	withFree := func(free int32) *lane {
		l := &lane{}
		l.free.Store(free)
		return l
	}
	for _, tc := range []struct {
		name string
		m    *Mux
		want int
	}{
		{"one lane reading, room left", &Mux{maxLanes: 1, depth: 2, lanes: []*lane{withFree(1)}}, 1},
		{"one lane at its depth", &Mux{maxLanes: 1, depth: 2, lanes: []*lane{withFree(0)}}, 0},
		{"lanes short of the cap: busy lanes take nothing", &Mux{maxLanes: 3, depth: 4, lanes: []*lane{withFree(1), withFree(4)}}, 4},
		{"a lane starting", &Mux{maxLanes: 2, depth: 4, starting: 1, lanes: []*lane{withFree(3)}}, 0},
		{"all open and busy", &Mux{maxLanes: 2, depth: 4, lanes: []*lane{withFree(3), withFree(2)}}, 5},
		{"no lane", &Mux{maxLanes: 2, depth: 4}, 0},
	} {
		if got := tc.m.laneRoom(); got != tc.want {
			t.Errorf("%s: laneRoom %d, want %d", tc.name, got, tc.want)
		}
	}
}
