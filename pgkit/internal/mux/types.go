package mux

import (
	"reflect"
	"slices"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// typeMap lends a Map for decoding a result whose statement needs types
// (stmt.types, nil for built-in types only); giveMap takes it back.
func (m *Mux) typeMap(types []*pgtype.Type) *decodeMap {
	var dm *decodeMap
	select {
	case dm = <-m.maps:
	default:
		dm = &decodeMap{tm: pgtype.NewMap()}
		if wraps := m.scanWraps.Load(); wraps != nil {
			dm.tm.TryWrapScanPlanFuncs = *wraps
		}
	}
	dm.use(types)
	return dm
}

// decodeMap is a pgtype.Map lent to one caller at a time, with copies of
// its own of the types the connections registered: a codec need not be
// safe for concurrent use (pgx's EnumCodec remembers the labels it has
// seen), so a type a connection decodes with is never shared.
type decodeMap struct {
	tm     *pgtype.Map
	copies map[*pgtype.Type]*pgtype.Type // a type of stmt.types → its copy, registered in tm
}

// use registers in dm the copies of types it does not have registered.
// Once it has, it costs a map lookup per type and allocates nothing.
func (dm *decodeMap) use(types []*pgtype.Type) {
	for _, t := range types {
		c, ok := dm.copies[t]
		if !ok {
			if dm.copies == nil {
				dm.copies = map[*pgtype.Type]*pgtype.Type{}
			}
			c = copyType(t, dm.copies)
		}
		if have, _ := dm.tm.TypeForOID(t.OID); have != c {
			dm.tm.RegisterType(c)
		}
	}
}

// copyType returns t with codecs of its own where pgx's keep state or hold
// other types (enum, array, composite, range, multirange: the types they
// hold copied too), recording every copy in copies. Other codecs are
// pgx's stateless ones, or the caller's, which the Config.AfterConnect
// documentation asks to be safe for concurrent use: they are shared.
func copyType(t *pgtype.Type, copies map[*pgtype.Type]*pgtype.Type) *pgtype.Type {
	if t == nil {
		return nil
	}
	if c, ok := copies[t]; ok {
		return c
	}
	var codec pgtype.Codec
	switch c := t.Codec.(type) {
	case *pgtype.EnumCodec:
		codec = &pgtype.EnumCodec{}
	case *pgtype.ArrayCodec:
		codec = &pgtype.ArrayCodec{ElementType: copyType(c.ElementType, copies), Delimiter: c.Delimiter}
	case *pgtype.CompositeCodec:
		fields := make([]pgtype.CompositeCodecField, len(c.Fields))
		for i, f := range c.Fields {
			fields[i] = pgtype.CompositeCodecField{Name: f.Name, Type: copyType(f.Type, copies)}
		}
		codec = &pgtype.CompositeCodec{Fields: fields}
	case *pgtype.RangeCodec:
		codec = &pgtype.RangeCodec{ElementType: copyType(c.ElementType, copies)}
	case *pgtype.MultirangeCodec:
		codec = &pgtype.MultirangeCodec{ElementType: copyType(c.ElementType, copies)}
	default:
		copies[t] = t
		return t
	}
	c := &pgtype.Type{Name: t.Name, OID: t.OID, Codec: codec}
	copies[t] = c
	return c
}

// resultTypes lists the types that decoding fields needs from tm, a lane
// connection's map, beyond pgx's built-in ones: a type the connection
// registered (an enum, a composite, an array of them), or a codec it
// registered in place of a built-in one, together with the element and
// field types such a type's codec looks up by OID while decoding. nil when
// every type is built in, the usual case. Run on the lane's goroutine,
// which owns tm.
//
// Every connection loaded its own *Type for the same type: the first
// connection's stands for all the connections that have the same (see
// sameType), so that a decode map makes its copies once, not once per
// lane; a connection that loaded another (the type was altered since)
// replaces it.
func (m *Mux) resultTypes(tm *pgtype.Map, fields []pgconn.FieldDescription) []*pgtype.Type {
	var types []*pgtype.Type
	var add func(t *pgtype.Type)
	add = func(t *pgtype.Type) {
		if t == nil || slices.Contains(types, t) {
			return
		}
		if b, ok := m.builtin.TypeForOID(t.OID); ok && b == t {
			return
		}
		types = append(types, t)
		switch c := t.Codec.(type) {
		case *pgtype.ArrayCodec:
			add(c.ElementType)
		case *pgtype.CompositeCodec:
			for _, f := range c.Fields {
				add(f.Type)
			}
		case *pgtype.RangeCodec:
			add(c.ElementType)
		case *pgtype.MultirangeCodec:
			add(c.ElementType)
		}
	}
	for _, f := range fields {
		if t, ok := tm.TypeForOID(f.DataTypeOID); ok {
			add(t)
		}
	}
	if types == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, t := range types {
		if have, ok := m.types[t.OID]; ok && sameType(have, t) {
			types[i] = have
			continue
		}
		m.types[t.OID] = t
	}
	return types
}

// sameType reports whether a and b, types of two connections' maps,
// decode alike: the same type, with the same kind of codec, holding the
// same types (a composite's attributes, an array's element).
func sameType(a, b *pgtype.Type) bool {
	if a == b {
		return true
	}
	if a == nil || b == nil || a.OID != b.OID {
		return false
	}
	switch ca := a.Codec.(type) {
	case *pgtype.ArrayCodec:
		cb, ok := b.Codec.(*pgtype.ArrayCodec)
		return ok && ca.Delimiter == cb.Delimiter && sameType(ca.ElementType, cb.ElementType)
	case *pgtype.CompositeCodec:
		cb, ok := b.Codec.(*pgtype.CompositeCodec)
		return ok && slices.EqualFunc(ca.Fields, cb.Fields, func(x, y pgtype.CompositeCodecField) bool {
			return x.Name == y.Name && sameType(x.Type, y.Type)
		})
	case *pgtype.RangeCodec:
		cb, ok := b.Codec.(*pgtype.RangeCodec)
		return ok && sameType(ca.ElementType, cb.ElementType)
	case *pgtype.MultirangeCodec:
		cb, ok := b.Codec.(*pgtype.MultirangeCodec)
		return ok && sameType(ca.ElementType, cb.ElementType)
	}
	// An enum, or a codec pgkit cannot look into: registered by the same
	// AfterConnect on every connection.
	return reflect.TypeOf(a.Codec) == reflect.TypeOf(b.Codec)
}

func (m *Mux) giveMap(dm *decodeMap) {
	select {
	case m.maps <- dm:
	default:
	}
}
