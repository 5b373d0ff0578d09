package pgkit

// Arguments without reflection. sqlc's emit_pointers_for_null_types makes
// nullable parameters and COPY values Go pointers (*string, *int64, …),
// and pgx encodes a pointer by dereferencing it through reflect
// (derefPointerEncodePlan, then reflect.Value.Interface for every value),
// which cost more client CPU than the rest of a COPY. pgkit hands pgx the
// values instead: nil for a nil pointer (NULL, as pgx sends for one), the
// value pointed to otherwise. Only pointers that pgx dereferences by
// reflection and whose value it encodes exactly as it encodes the pointer
// are replaced (their types have no methods pgx consults); anything else
// goes to pgx as it came. Pointers to pgtype values are left alone:
// pgtype's types implement pgx's …Valuer interfaces on their values, so
// pgx encodes their pointers directly, and replacing one would only box
// its value.

import (
	"net/netip"
	"time"

	"github.com/jackc/pgx/v5"
)

// concreteArgs returns args with every pointer of a common type replaced
// by its value, in a new slice (the caller's is left as it is); args
// itself, without allocating, when none is such a pointer. The executor
// calls it where a statement's arguments come in.
func concreteArgs(args []any) []any {
	i := firstPointer(args)
	if i < 0 {
		return args
	}
	out := make([]any, len(args))
	fillConcrete(out, args, i)
	return out
}

// firstPointer returns the index of the first pointer of a common type in
// args, or -1.
func firstPointer(args []any) int {
	for i, a := range args {
		if _, ok := concrete(a); ok {
			return i
		}
	}
	return -1
}

// fillConcrete sets dst (as long as args) to args with their pointers
// replaced by their values; args[first] is the first such pointer.
func fillConcrete(dst, args []any, first int) {
	copy(dst, args[:first])
	for j := first; j < len(args); j++ {
		dst[j], _ = concrete(args[j])
	}
}

// concrete returns the value a is a pointer to, or nil for a nil pointer,
// and true; or a and false when a is no pointer of a common type.
func concrete(a any) (any, bool) {
	switch p := a.(type) {
	case *string:
		return deref(p), true
	case *bool:
		return deref(p), true
	case *int:
		return deref(p), true
	case *int8:
		return deref(p), true
	case *int16:
		return deref(p), true
	case *int32:
		return deref(p), true
	case *int64:
		return deref(p), true
	case *uint:
		return deref(p), true
	case *uint8:
		return deref(p), true
	case *uint16:
		return deref(p), true
	case *uint32:
		return deref(p), true
	case *uint64:
		return deref(p), true
	case *float32:
		return deref(p), true
	case *float64:
		return deref(p), true
	case *[]byte:
		return deref(p), true
	case *time.Time:
		return deref(p), true
	case *netip.Addr:
		return deref(p), true
	case *netip.Prefix:
		return deref(p), true
	}
	return a, false
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// concreteBatch replaces the pointer arguments of b's queued queries by
// their values (each such query's Arguments becomes a new slice; the
// caller's slices are left as they are). pgx sends a Batch once, so
// nothing reads the pointers after. The new slices are cut from a few
// shared allocations rather than made one per query.
func concreteBatch(b *pgx.Batch) {
	if b == nil {
		return
	}
	var buf []any
	for k, qq := range b.QueuedQueries {
		i := firstPointer(qq.Arguments)
		if i < 0 {
			continue
		}
		n := len(qq.Arguments)
		if len(buf) < n {
			buf = make([]any, max(n, min(n*(len(b.QueuedQueries)-k), batchArgsChunk)))
		}
		out := buf[:n:n]
		buf = buf[n:]
		fillConcrete(out, qq.Arguments, i)
		qq.Arguments = out
	}
}

// batchArgsChunk bounds the arguments one allocation of concreteBatch
// holds (64 KiB of interface values).
const batchArgsChunk = 4096

// copySource is what a COPY source that pgkitgen generated offers: the
// rows as a source whose values are concrete already (sqlc's :copyfrom
// iterator, which hands pgx the pointers of its rows, has this method in
// a package pgkitgen ran on).
type copySource interface {
	PgkitCopySource() pgx.CopyFromSource
}

// concreteSource returns src as pgx is to read it: the typed source of
// a pgkitgen-generated iterator, or src with the pointers of each row
// replaced by their values, in one row reused from row to row (pgx
// encodes a row before it asks for the next).
func concreteSource(src pgx.CopyFromSource) pgx.CopyFromSource {
	if t, ok := src.(copySource); ok {
		if typed := t.PgkitCopySource(); typed != nil {
			return typed
		}
	}
	return &concreteRows{CopyFromSource: src}
}

// concreteRows is a COPY source with its rows' pointers dereferenced.
type concreteRows struct {
	pgx.CopyFromSource
	row []any
}

// Values returns the current row, its pointers replaced by their values.
func (r *concreteRows) Values() ([]any, error) {
	vals, err := r.CopyFromSource.Values()
	if err != nil {
		return nil, err
	}
	i := firstPointer(vals)
	if i < 0 {
		return vals, nil
	}
	if cap(r.row) < len(vals) {
		r.row = make([]any, len(vals))
	}
	row := r.row[:len(vals)]
	fillConcrete(row, vals, i)
	return row, nil
}
