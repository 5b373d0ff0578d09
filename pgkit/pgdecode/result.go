package pgdecode

import (
	"reflect"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// Result is a Decoder at work on one result: Start checks the result's
// columns once, Scan decodes each row. The zero Result is ready for
// Start; a Result is used by one goroutine at a time (that of the rows).
type Result struct {
	d      *Decoder
	kinds  []kind // d's, or a copy with the columns of other types than generated as kPlan
	tm     *pgtype.Map
	fields []pgconn.FieldDescription
	plans  []pgtype.ScanPlan // per column, for kPlan columns: planned at the first Scan
}

// Start prepares r for the rows of a result whose columns are fields,
// decoded with tm (the connection's type map); false when d does not fit
// the result (another number of columns), and the caller scans the
// result with pgx. A column decodes natively when it has an OID, a
// format and pgx's own codec that its destination's decoder expects;
// other columns (of a type changed since generation, in text format, of
// a codec replaced in tm) are decoded by pgx's scan plan for their
// actual type.
func (r *Result) Start(d *Decoder, tm *pgtype.Map, fields []pgconn.FieldDescription) bool {
	*r = Result{}
	if d == nil || tm == nil || len(fields) != len(d.kinds) || !pgxWrappers(tm) {
		return false
	}
	r.d, r.tm, r.fields, r.kinds = d, tm, fields, d.kinds
	plans := d.plans
	for i, k := range d.kinds {
		if k == kPlan || fits(k, fields[i], tm) {
			continue
		}
		if &r.kinds[0] == &d.kinds[0] { // not copied yet
			r.kinds = append([]kind(nil), d.kinds...)
		}
		r.kinds[i], plans = kPlan, true
	}
	if plans {
		r.plans = make([]pgtype.ScanPlan, len(d.kinds))
	}
	return true
}

// pgxWrappers reports whether tm wraps scan plans as pgx's own maps do:
// pgx reaches a *time.Time, a **T or a []T destination only through
// tm.TryWrapScanPlanFuncs, so a map whose wrappers a program changed
// (one that makes every time UTC, say) is left to pgx for the whole
// result. The list is pgtype.NewMap's (TestPgxWrappersAreNewMaps checks it
// against the pgx in go.mod); compared by function, a few nanoseconds.
func pgxWrappers(tm *pgtype.Map) bool {
	want := [...]pgtype.TryWrapScanPlanFunc{
		pgtype.TryPointerPointerScanPlan,
		pgtype.TryWrapBuiltinTypeScanPlan,
		pgtype.TryFindUnderlyingTypeScanPlan,
		pgtype.TryWrapStructScanPlan,
		pgtype.TryWrapPtrSliceScanPlan,
		pgtype.TryWrapPtrMultiDimSliceScanPlan,
		pgtype.TryWrapPtrArrayScanPlan,
	}
	if len(tm.TryWrapScanPlanFuncs) != len(want) {
		return false
	}
	for i, f := range tm.TryWrapScanPlanFuncs {
		if reflect.ValueOf(f).Pointer() != reflect.ValueOf(want[i]).Pointer() {
			return false
		}
	}
	return true
}

// Native is the number of columns r decodes natively, not through pgx's
// scan plans.
func (r *Result) Native() int {
	n := 0
	for _, k := range r.kinds {
		if k != kPlan {
			n++
		}
	}
	return n
}

// fits reports whether a column described by f decodes as kind k: in
// binary format (or, for text, either: the two are the same bytes), of an
// OID k's destination takes, with pgx's own codec in tm; or json or jsonb
// in text format into a string or a []byte, which pgx copies as they are.
func fits(k kind, f pgconn.FieldDescription, tm *pgtype.Map) bool {
	switch f.Format {
	case pgtype.BinaryFormatCode:
		return accepts(k, f.DataTypeOID, tm)
	case pgtype.TextFormatCode:
		switch k {
		case kText, kPText, kNText:
			return accepts(k, f.DataTypeOID, tm) || (k == kText && jsonText(f.DataTypeOID, tm))
		case kBytea:
			return jsonText(f.DataTypeOID, tm)
		}
	}
	return false
}

// jsonText reports whether oid is json or jsonb with pgx's own codec,
// whose text format pgx scans into a *string or a *[]byte as a copy.
func jsonText(oid uint32, tm *pgtype.Map) bool {
	t, ok := tm.TypeForOID(oid)
	if !ok {
		return false
	}
	switch oid {
	case pgtype.JSONOID:
		_, ok = t.Codec.(*pgtype.JSONCodec)
	case pgtype.JSONBOID:
		_, ok = t.Codec.(*pgtype.JSONBCodec)
	default:
		ok = false
	}
	return ok
}

// Scan decodes values, a row of the started result, into dest. It
// reports false, having perhaps written some of dest, when it declined:
// dest are not the types the decoder was made for, or a value does not
// decode (NULL into a non-pointer, malformed, out of range). The caller
// then scans the row with pgx, which overwrites what Scan wrote and
// returns pgx's own error, if any.
func (r *Result) Scan(values [][]byte, dest []any) bool {
	d := r.d
	if d == nil || len(dest) != len(d.kinds) || len(values) != len(d.kinds) {
		return false
	}
	var ar arena
	if len(d.texts) > 0 {
		n := 0
		for _, i := range d.texts {
			if inArena(len(values[i])) { // as arena.str
				n += len(values[i])
			}
		}
		if n > 0 {
			ar.buf = make([]byte, 0, n)
		}
	}
	for i, k := range r.kinds {
		if k == kPlan {
			if !r.planScan(i, values[i], dest[i]) {
				return false
			}
			continue
		}
		if !decode(k, values[i], dest[i], &ar) {
			return false
		}
	}
	return true
}

// planScan decodes column i with pgx's scan plan, planned for the
// generated destination type.
func (r *Result) planScan(i int, src []byte, dest any) bool {
	if dest == nil || reflect.TypeOf(dest) != r.d.types[i] {
		return false
	}
	p := r.plans[i]
	if p == nil {
		p = r.tm.PlanScan(r.fields[i].DataTypeOID, r.fields[i].Format, dest)
		r.plans[i] = p
	}
	return p.Scan(src, dest) == nil
}

// accepts reports whether a column of OID oid decodes as kind k: its OID
// is one k's destination takes, and tm decodes it with pgx's own codec
// (which k reproduces).
func accepts(k kind, oid uint32, tm *pgtype.Map) bool {
	t, ok := tm.TypeForOID(oid)
	if !ok {
		return false
	}
	switch k {
	case kInt2, kPInt2, kNInt2:
		_, ok = t.Codec.(pgtype.Int2Codec)
		return ok && oid == pgtype.Int2OID
	case kInt4, kPInt4, kNInt4:
		_, ok = t.Codec.(pgtype.Int4Codec)
		return ok && oid == pgtype.Int4OID
	case kInt8, kPInt8, kNInt8:
		_, ok = t.Codec.(pgtype.Int8Codec)
		return ok && oid == pgtype.Int8OID
	case kFloat4, kPFloat4, kNFloat4:
		_, ok = t.Codec.(pgtype.Float4Codec)
		return ok && oid == pgtype.Float4OID
	case kFloat8, kPFloat8, kNFloat8:
		_, ok = t.Codec.(pgtype.Float8Codec)
		return ok && oid == pgtype.Float8OID
	case kBool, kPBool, kNBool:
		_, ok = t.Codec.(pgtype.BoolCodec)
		return ok && oid == pgtype.BoolOID
	case kText, kPText, kNText:
		_, ok = t.Codec.(pgtype.TextCodec)
		return ok && textOID(oid)
	case kBytea:
		_, ok = t.Codec.(pgtype.ByteaCodec)
		return ok && oid == pgtype.ByteaOID
	case kTime, kPTime, kTimestamptz:
		c, ok := t.Codec.(*pgtype.TimestamptzCodec)
		return ok && c.ScanLocation == nil && oid == pgtype.TimestamptzOID
	case kUint32:
		_, ok = t.Codec.(pgtype.Uint32Codec)
		return ok && oid == pgtype.OIDOID
	case kUUID:
		_, ok = t.Codec.(pgtype.UUIDCodec)
		return ok && oid == pgtype.UUIDOID
	case kDate:
		_, ok = t.Codec.(pgtype.DateCodec)
		return ok && oid == pgtype.DateOID
	case kInt4Array:
		return arrayOf(t, pgtype.Int4ArrayOID, oid, func(e *pgtype.Type) bool { _, ok := e.Codec.(pgtype.Int4Codec); return ok && e.OID == pgtype.Int4OID })
	case kInt8Array:
		return arrayOf(t, pgtype.Int8ArrayOID, oid, func(e *pgtype.Type) bool { _, ok := e.Codec.(pgtype.Int8Codec); return ok && e.OID == pgtype.Int8OID })
	case kBoolArray:
		return arrayOf(t, pgtype.BoolArrayOID, oid, func(e *pgtype.Type) bool { _, ok := e.Codec.(pgtype.BoolCodec); return ok && e.OID == pgtype.BoolOID })
	case kFloat8Array:
		return arrayOf(t, pgtype.Float8ArrayOID, oid, func(e *pgtype.Type) bool {
			_, ok := e.Codec.(pgtype.Float8Codec)
			return ok && e.OID == pgtype.Float8OID
		})
	case kTextArray:
		c, ok := t.Codec.(*pgtype.ArrayCodec)
		if !ok || c.ElementType == nil || (oid != pgtype.TextArrayOID && oid != pgtype.VarcharArrayOID) {
			return false
		}
		_, ok = c.ElementType.Codec.(pgtype.TextCodec)
		return ok && textOID(c.ElementType.OID)
	}
	return false
}

// textOID reports whether oid is a type whose binary value is its text:
// text, varchar, name, bpchar.
func textOID(oid uint32) bool {
	switch oid {
	case pgtype.TextOID, pgtype.VarcharOID, pgtype.NameOID, pgtype.BPCharOID:
		return true
	}
	return false
}

// arrayOf reports whether t, the type of OID oid, is the array want of
// pgx's ArrayCodec over an element type elem accepts.
func arrayOf(t *pgtype.Type, want, oid uint32, elem func(*pgtype.Type) bool) bool {
	c, ok := t.Codec.(*pgtype.ArrayCodec)
	return ok && oid == want && c.ElementType != nil && elem(c.ElementType)
}
