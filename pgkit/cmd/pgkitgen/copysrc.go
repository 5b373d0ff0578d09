package main

import (
	"fmt"
	"go/ast"
	"strconv"
	"strings"
)

// The typed COPY source of a :copyfrom query. sqlc's iterator hands pgx
// each row's fields as they are, and pgx encodes a pointer (what
// emit_pointers_for_null_types makes of a nullable column) or a named type
// (an enum) through reflect, value by value. pgkitgen's source hands pgx
// the values themselves, in one []any reused from row to row: nil for a
// nil pointer, the value pointed to otherwise, and an enum (a named
// string or number of the package) as its string or number. It does so
// only where pgx encodes the result exactly as it encodes the field (see
// derefable and basicOf); any other field goes to pgx as it is.
//
// The …Seq method reads its rows through the source; so does sqlc's
// method, through pgkit: pgkitgen gives sqlc's iterator a method
// PgkitCopySource, which pgkit's CopyFrom calls to swap the iterator for
// the source.

// localType is a type declared in the package (by sqlc or by hand).
type localType struct {
	typ  ast.Expr
	file *ast.File
}

// recvMethod is a method of a type of the package.
type recvMethod struct {
	name    string
	pointer bool // declared on *T
}

// collectTypes adds the types file declares, and their methods, to p.
func collectTypes(p *pkg, file *ast.File) {
	for _, d := range file.Decls {
		switch d := d.(type) {
		case *ast.GenDecl:
			for _, s := range d.Specs {
				if ts, ok := s.(*ast.TypeSpec); ok && !ts.Assign.IsValid() && ts.TypeParams == nil {
					p.local[ts.Name.Name] = localType{ts.Type, file}
				}
			}
		case *ast.FuncDecl:
			if d.Recv == nil || len(d.Recv.List) == 0 {
				continue
			}
			_, ptr := d.Recv.List[0].Type.(*ast.StarExpr)
			if name := recvType(d); name != "" {
				p.recvMethods[name] = append(p.recvMethods[name], recvMethod{d.Name.Name, ptr})
			}
		}
	}
}

// encoderMethod reports a method name pgx (or database/sql, which pgx
// honours) may call to encode a value: driver.Valuer's Value, pgtype's
// …Valuer interfaces (TextValue, Int64Value, …), fmt.Stringer, the
// composite and array getters, json.Marshaler and encoding.TextMarshaler.
func encoderMethod(name string) bool {
	switch name {
	case "String", "Index", "IndexType", "Dimensions", "IsNull", "SkipUnderlyingTypePlan":
		return true
	}
	return strings.HasSuffix(name, "Value") || strings.HasPrefix(name, "Marshal") || strings.HasPrefix(name, "Encode")
}

// hasEncoder reports whether the package's type name has an encoder
// method: declared on *T when pointer, on T when not.
func (p *pkg) hasEncoder(name string, pointer bool) bool {
	for _, m := range p.recvMethods[name] {
		if m.pointer == pointer && encoderMethod(m.name) {
			return true
		}
	}
	return false
}

var basicTypes = map[string]bool{
	"string": true, "bool": true, "byte": true, "rune": true, "float32": true, "float64": true,
	"int": true, "int8": true, "int16": true, "int32": true, "int64": true,
	"uint": true, "uint8": true, "uint16": true, "uint32": true, "uint64": true,
}

// derefable reports whether pgx dereferences *t by reflection and encodes
// *t as it encodes t: a basic type, []byte, time.Time, netip.Addr or
// netip.Prefix, or a type of the package with no encoder method on its
// pointer. (pgx dereferences a pointer without an encoder method of its
// own and encodes what it points to; a nil pointer is NULL.) Pointers to
// pgtype's types and google/uuid's UUID are left alone: they implement
// pgx's …Valuer interfaces or driver.Valuer, which pgx calls on the
// pointer without reflection.
func (p *pkg) derefable(t ast.Expr, file *ast.File) bool {
	switch t := t.(type) {
	case *ast.Ident:
		if basicTypes[t.Name] {
			return true
		}
		_, local := p.local[t.Name]
		return local && !p.hasEncoder(t.Name, true)
	case *ast.ArrayType:
		id, ok := t.Elt.(*ast.Ident)
		return t.Len == nil && ok && (id.Name == "byte" || id.Name == "uint8")
	case *ast.SelectorExpr:
		id, ok := t.X.(*ast.Ident)
		if !ok {
			return false
		}
		path, ok := importOf(file, id.Name)
		switch {
		case !ok:
			return false
		case path == "time":
			return t.Sel.Name == "Time"
		case path == "net/netip":
			return t.Sel.Name == "Addr" || t.Sel.Name == "Prefix"
		}
	}
	return false
}

// basicOf returns the basic type a type of the package is declared as
// (type Mood string: "string"), when pgx would encode a value of it as
// that basic type (it has no encoder method), or "".
func (p *pkg) basicOf(t ast.Expr) string {
	id, ok := t.(*ast.Ident)
	if !ok || basicTypes[id.Name] {
		return ""
	}
	lt, ok := p.local[id.Name]
	if !ok || p.hasEncoder(id.Name, false) {
		return ""
	}
	if under, ok := lt.typ.(*ast.Ident); ok && basicTypes[under.Name] {
		return under.Name
	}
	return ""
}

// typedCopy is how one :copyfrom query's source is written.
type typedCopy struct {
	source   string   // the source's type name
	cur      string   // how Values refers to the current row: "&s.cur" or "s.cur"
	nilCheck bool     // the rows are pointers to structs: a nil one is an error
	assign   []string // one statement (or if) per column, setting s.row[i]
	held     bool     // every value handed to pgx is a value (holdable): a copy of it may be encoded later
}

// planCopy works out c's source: the Go type of each column's value (a
// field of the Params struct, or the element itself for a single column)
// and what to hand pgx for it.
func planCopy(p *pkg, c copySeq, source string) typedCopy {
	tc := typedCopy{source: source, cur: "s.cur", held: true}
	elem, elemFile := c.elem, c.file
	var st *ast.StructType
	if star, ok := elem.(*ast.StarExpr); ok {
		if id, ok := star.X.(*ast.Ident); ok {
			if lt, ok := p.local[id.Name]; ok {
				if s, ok := lt.typ.(*ast.StructType); ok {
					st, elemFile, tc.nilCheck = s, lt.file, true
				}
			}
		}
	} else if id, ok := elem.(*ast.Ident); ok {
		if lt, ok := p.local[id.Name]; ok {
			if s, ok := lt.typ.(*ast.StructType); ok {
				st, elemFile, tc.cur = s, lt.file, "&s.cur"
			}
		}
	}
	for i, v := range c.values {
		dst := "s.row[" + strconv.Itoa(i) + "]"
		expr := text(p.fset, v)
		typ, file := elem, c.file
		if sel, ok := v.(*ast.SelectorExpr); ok {
			typ, file = fieldType(st, sel), elemFile
		}
		tc.assign = append(tc.assign, assignValue(p, dst, expr, typ, file))
		tc.held = tc.held && p.holdable(typ, file)
	}
	return tc
}

// holdable reports whether what the source hands pgx for a value of type
// t holds no memory the caller's iterator may change after yielding it: a
// boolean, number or string, an enum as one, time.Time, netip's, pgtype's
// scalar values, or a pointer to one of those (handed as its value).
// pgkit's CopyFrom then hands the rows of a …Seq to pgx a chunk at a time
// instead of one at a time (pgkit's copy_push.go).
func (p *pkg) holdable(t ast.Expr, file *ast.File) bool {
	if star, ok := t.(*ast.StarExpr); ok {
		if !p.derefable(star.X, file) {
			return false
		}
		t = star.X
	}
	switch t := t.(type) {
	case *ast.Ident:
		return basicTypes[t.Name] || p.basicOf(t) != ""
	case *ast.SelectorExpr:
		id, ok := t.X.(*ast.Ident)
		if !ok {
			return false
		}
		path, _ := importOf(file, id.Name)
		switch path {
		case "time":
			return t.Sel.Name == "Time"
		case "net/netip":
			return t.Sel.Name == "Addr" || t.Sel.Name == "Prefix"
		case "github.com/jackc/pgx/v5/pgtype":
			return pgtypeScalars[t.Sel.Name]
		}
	}
	return false
}

// pgtypeScalars are pgtype's types whose values hold no pointer or slice.
var pgtypeScalars = map[string]bool{
	"Bool": true, "Date": true, "Float4": true, "Float8": true, "Int2": true, "Int4": true, "Int8": true,
	"Interval": true, "Text": true, "Time": true, "Timestamp": true, "Timestamptz": true, "UUID": true,
	"Uint32": true, "Uint64": true,
}

// fieldType returns the type of v.Field in st (sqlc's COPY values are
// fields of the row, never deeper), or nil.
func fieldType(st *ast.StructType, sel *ast.SelectorExpr) ast.Expr {
	if st == nil {
		return nil
	}
	if id, ok := sel.X.(*ast.Ident); !ok || id.Name != "v" {
		return nil
	}
	for _, f := range st.Fields.List {
		for _, n := range f.Names {
			if n.Name == sel.Sel.Name {
				return f.Type
			}
		}
	}
	return nil
}

// assignValue is the statement that sets dst to what pgx is handed for
// expr, of type typ (nil: unknown, handed as it is).
func assignValue(p *pkg, dst, expr string, typ ast.Expr, file *ast.File) string {
	if star, ok := typ.(*ast.StarExpr); ok && p.derefable(star.X, file) {
		val := "*" + expr
		if b := p.basicOf(star.X); b != "" {
			val = b + "(*" + expr + ")"
		}
		return fmt.Sprintf("if %[2]s != nil {\n\t\t%[1]s = %[3]s\n\t} else {\n\t\t%[1]s = nil\n\t}", dst, expr, val)
	}
	if typ != nil {
		if b := p.basicOf(typ); b != "" {
			return fmt.Sprintf("%s = %s(%s)", dst, b, expr)
		}
		if nullablePgtype(typ, file) {
			return fmt.Sprintf("if %[2]s.Valid {\n\t\t%[1]s = %[2]s\n\t} else {\n\t\t%[1]s = nil\n\t}", dst, expr)
		}
	}
	return dst + " = " + expr
}

// pgtypeValids are the pgtype types whose Valid field says NULL when
// false: pgx encodes one that is not valid as it encodes nil, and nil
// costs it neither a plan lookup nor the value's boxing.
var pgtypeValids = map[string]bool{
	"Bits": true, "Bool": true, "Box": true, "Circle": true, "Date": true, "Float4": true, "Float8": true,
	"Int2": true, "Int4": true, "Int8": true, "Interval": true, "Line": true, "Lseg": true, "Numeric": true,
	"Path": true, "Point": true, "Polygon": true, "TID": true, "TSVector": true, "Text": true, "Time": true,
	"Timestamp": true, "Timestamptz": true, "UUID": true, "Uint32": true, "Uint64": true,
}

// nullablePgtype reports one of pgtypeValids.
func nullablePgtype(t ast.Expr, file *ast.File) bool {
	sel, ok := t.(*ast.SelectorExpr)
	if !ok || !pgtypeValids[sel.Sel.Name] {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	if !ok {
		return false
	}
	path, ok := importOf(file, id.Name)
	return ok && path == "github.com/jackc/pgx/v5/pgtype"
}

// renderCopy writes c's typed source, the PgkitCopySource method of
// sqlc's iterator, and c's …Seq method.
func renderCopy(w func(string, ...any), t func(ast.Node) string, c copySeq, tc typedCopy, o Options) {
	name := c.decl.Name.Name
	elem := t(c.elem)
	w(`// %[1]s is %[2]s's rows as the pgx.CopyFromSource pgkit's CopyFrom
// uses instead of sqlc's iterator, and %[2]s%[3]s's source: it hands pgx
// values (nil for a nil pointer or a pgtype value that is not Valid, the
// value otherwise; an enum as its string), which pgx encodes without
// reflection, in one row reused from row to row (pgx encodes a row before
// it asks for the next).
type %[1]s struct {
	rows []%[4]s              // sqlc's method: the rows
	seq  iter.Seq[%[4]s]      // the Seq: where the rows come from
	next func() (%[4]s, bool) // seq pulled, for a CopyFrom that does not push
	stop func()
	cur  %[4]s
	n    int // the rows read so far
	row  [%[5]d]interface{}
}

// Next moves to the next row and reports whether there is one.
func (s *%[1]s) Next() bool {
	if s.seq != nil && s.next == nil {
		s.next, s.stop = iter.Pull(s.seq)
	}
	if s.next != nil {
		v, ok := s.next()
		if !ok {
			return false
		}
		s.cur = v
	} else {
		if s.n >= len(s.rows) {
			return false
		}
		s.cur = s.rows[s.n]
	}
	s.n++
	return true
}

// Values returns the current row's values.
func (s *%[1]s) Values() ([]interface{}, error) {
	v := %[6]s
`, tc.source, name, o.SeqSuffix, elem, len(tc.assign), tc.cur)
	if tc.nilCheck {
		w("\tif v == nil {\n\t\treturn nil, fmt.Errorf(\"%s: row %%d is nil\", s.n)\n\t}\n", name)
	}
	for _, a := range tc.assign {
		w("\t%s\n", a)
	}
	w(`	return s.row[:], nil
}

// Err returns nil: a Seq has no error of its own to report.
func (s *%[1]s) Err() error { return nil }

// PgkitCopySource returns s, whose values are concrete already.
func (s *%[1]s) PgkitCopySource() pgx.CopyFromSource { return s }

// PgkitCopyEach returns, for the Seq, a function that runs it and hands
// each row's values to emit until emit returns false: pgkit's CopyFrom
// pushes the rows instead of pulling them. nil for sqlc's rows. held: the
// values hold nothing the iterator may change once it goes on.
func (s *%[1]s) PgkitCopyEach() (each func(emit func([]interface{}) bool) error, held bool) {
	if s.seq == nil {
		return nil, false
	}
	return func(emit func([]interface{}) bool) error {
		var err error
		s.seq(func(v %[3]s) bool {
			s.cur = v
			s.n++
			var vals []interface{}
			if vals, err = s.Values(); err != nil {
				return false
			}
			return emit(vals)
		})
		return err
	}, %[4]t
}

// close ends the Seq's Pull, if it was pulled.
func (s *%[1]s) close() {
	if s.stop != nil {
		s.stop()
	}
}

// PgkitCopySource returns r's rows as a %[1]s, which pgkit's CopyFrom
// copies instead of r: the same rows, encoded without reflection.
func (r *%[2]s) PgkitCopySource() pgx.CopyFromSource { return &%[1]s{rows: r.rows} }

`, tc.source, c.iter, elem, tc.held)
	renderSeq(w, t, c, tc, o)
}
