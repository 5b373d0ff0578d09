package mux

// Slabs: where a lane copies the values of the rows it reads, once each.
// A result is a stretch of the lane's byte slab (its values, end to end)
// and of its offset slab (where each value ends; ^end for a NULL), handed
// to the caller as sub-slices capped at their length. The lane only ever
// appends to a slab, so what it handed out is never written again; when
// a slab is full it takes a new one, and the old one is garbage once the
// callers holding results in it drop them. A small result costs no
// allocation of its own: 2,000 results of SELECT 1+1 share one slab.

const (
	// A lane's first slabs are small, each next one twice the last, up
	// to these sizes: a lane that lives for a few statements allocates
	// little.
	slabBytes  = 32 << 10 // a byte slab's size, at most (unless one result needs more)
	slabValues = 4 << 10  // an offset slab's length, at most (likewise)
	firstSlab  = 256
	// maxKeptSlab: a slab grown beyond this for one big result is not
	// reused for the next one, so that the lane does not keep a
	// statement's megabytes alive for its life.
	maxKeptSlab = 1 << 20
)

// sizeHint is a statement's result size the last time it ran on the
// connection: the lane makes room for that much at once, so that the
// values of a result of a steady size are copied once, not again as the
// slab grows.
type sizeHint struct {
	data   int // bytes of values
	values int // values, NULLs included
}

// slabRoom returns slab with room for n more elements after its length.
// The current result began at start; when the slab has no room, the
// result's first part is copied to the start of a new slab (twice the
// last one, at most maxSize, and at least what the result needs: twice
// that when it grows), and the new start, 0, is returned.
func slabRoom[T byte | int32](slab []T, start, n, maxSize int) ([]T, int) {
	if slab != nil && cap(slab)-len(slab) >= n {
		return slab, start
	}
	part := slab[start:]
	need := len(part) + n
	if len(part) > 0 { // growing a result: leave it room to grow further
		need *= 2
	}
	fresh := make([]T, len(part), max(firstSlab, min(2*cap(slab), maxSize), need))
	copy(fresh, part)
	return fresh, 0
}

// dropBigSlabs lets go of slabs that one big result grew.
func (l *lane) dropBigSlabs() {
	if cap(l.slab) > maxKeptSlab {
		l.slab = nil
	}
	if cap(l.ends) > maxKeptSlab/4 {
		l.ends = nil
	}
}
