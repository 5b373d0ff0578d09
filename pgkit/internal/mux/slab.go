package mux

import "sync/atomic"

// Slabs: where a lane copies the values of the rows it reads, once each.
// A result is one or more segments, each a run of its rows that lies in
// one slab: a stretch of the slab's bytes (the rows' values, end to end)
// and of its offsets (where each value ends; ^end for a NULL), handed to
// the caller as sub-slices capped at their length. The lane only appends
// to a slab, so what it handed out is not written again while the caller
// reads it; when a row does not fit in what is left, the lane takes
// another slab and the result goes on in a new segment there (nothing is
// copied again). A small result costs no allocation of its own: hundreds
// of results of SELECT 1+1 share one slab.
//
// A slab goes back to the multiplexer's free slabs once the lane has
// moved on from it and every result in it is closed (Rows.Close, or the
// result dropped unread), and is written again from its start: a
// caller's raw values, as pgx's, are valid until Next or Close. A result
// never closed is left to the garbage collector with its slab. Without
// the reuse, every value copied was memory allocated too, and the
// collector's work doubled the pool's on results of 500 kB (the
// multiplexer cost 1.7 times the pool's client CPU there).
//
// Slabs are of one size (a row bigger than that has one of its own, not
// reused): a big result is many slabs, never one allocation of its size,
// which the Go heap serves from its page heap, under its lock, zeroed.

const (
	slabBytes  = 32 << 10 // a slab's bytes (unless one row needs more)
	slabValues = 4 << 10  // a slab's offsets (likewise)
)

// slab is a lane's store of row values, shared by the results in it.
type slab struct {
	data []byte
	ends []int32
	// refs counts the lane, while it appends to the slab, and the
	// segments handed out and not yet released.
	refs atomic.Int32
	m    *Mux // the free slabs it goes back to; nil: not reused
}

// getSlab returns an empty slab with room for a row of need bytes and
// values values, held by the lane (refs 1).
func (m *Mux) getSlab(need, values int) *slab {
	if need <= slabBytes && values <= slabValues {
		s, ok := m.slabs.Get().(*slab)
		if !ok {
			s = &slab{data: make([]byte, 0, slabBytes), ends: make([]int32, 0, slabValues), m: m}
		}
		s.refs.Store(1)
		return s
	}
	s := &slab{data: make([]byte, 0, max(need, slabBytes)), ends: make([]int32, 0, max(values, slabValues))}
	s.refs.Store(1)
	return s
}

// release drops one hold on s; the last one gives it back for reuse.
func (s *slab) release() {
	if s == nil || s.refs.Add(-1) != 0 || s.m == nil {
		return
	}
	s.data, s.ends = s.data[:0], s.ends[:0]
	s.m.slabs.Put(s)
}

// segment is a run of a result's rows whose values lie in one slab.
type segment struct {
	slab *slab   // holds data and ends; released with the result
	data []byte  // the values, end to end
	ends []int32 // rows × columns: where each value ends in data; ^end for NULL
	rows int     // counted apart: a row may have no columns
}

// release gives back the slabs of res's rows: the caller has done with
// them (or nobody will read them).
func (res *result) release() {
	res.seg.slab.release()
	for _, s := range res.more {
		s.slab.release()
	}
	res.seg, res.more = segment{}, nil
}

// segmentRows is where the rows a lane is reading for one result go: the
// current segment begins at dstart and estart in the lane's slab.
type segmentRows struct {
	dstart, estart int
	rows           int // in the current segment
}

// cut ends the current segment of res, if it has rows, and begins the
// next one where the slab ends now.
func (l *lane) cut(res *result, s *segmentRows) {
	if s.rows > 0 {
		sl := l.slab
		sl.refs.Add(1)
		seg := segment{
			slab: sl,
			data: sl.data[s.dstart:len(sl.data):len(sl.data)],
			ends: sl.ends[s.estart:len(sl.ends):len(sl.ends)],
			rows: s.rows,
		}
		if res.rows == s.rows {
			res.seg = seg
		} else {
			res.more = append(res.more, seg)
		}
	}
	if l.slab != nil {
		s.dstart, s.estart = len(l.slab.data), len(l.slab.ends)
	}
	s.rows = 0
}

// appendRow copies a row's values, need bytes in all, into the lane's
// slab, taking another (and beginning a new segment of res) when the row
// does not fit in what is left.
func (l *lane) appendRow(res *result, s *segmentRows, values [][]byte, need int) {
	if sl := l.slab; sl == nil || cap(sl.data)-len(sl.data) < need || cap(sl.ends)-len(sl.ends) < len(values) {
		l.cut(res, s)
		l.slab.release() // the lane's hold
		l.slab = l.m.getSlab(need, len(values))
		s.dstart, s.estart = 0, 0
	}
	sl := l.slab
	data, ends := sl.data, sl.ends
	for _, v := range values {
		if v == nil {
			ends = append(ends, ^int32(len(data)-s.dstart))
			continue
		}
		data = append(data, v...)
		ends = append(ends, int32(len(data)-s.dstart))
	}
	sl.data, sl.ends = data, ends
	s.rows++
	res.rows++
}

// dropBigSlab lets go of a slab that one big row had to itself.
func (l *lane) dropBigSlab() {
	if l.slab != nil && l.slab.m == nil {
		l.slab.release()
		l.slab = nil
	}
}
