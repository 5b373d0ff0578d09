package main

import (
	"fmt"
	"go/ast"
	"slices"
	"strings"
)

// The typing changes of a public method (pgkit:embed and pgkit:column) and
// the scan they need. A nullable embed's field becomes *Embed: its columns
// are scanned into pointer temporaries (pgx scans NULL into **T as a nil
// *T, also when T is itself a pointer or a pgtype type), and the field is
// set to &Embed{…} unless every one of them is nil. A nullable column's
// type T becomes *T (types that already hold NULL stay); a notnull one's
// *T becomes T, and pgtype's Text, Int8, Bool, Timestamptz, … the Go value
// type pgx scans them into.

// scanPlan is how a public method scans a row.
type scanPlan struct {
	rowType string   // the type of the row variable i
	result  string   // what the method returns (:one) or yields (:many)
	temps   []string // var declarations before the scan
	targets []string // the scan's arguments
	post    []string // statements after a successful scan
	value   bool     // post uses the pgkitValue helper
}

// notNullTypes are pgtype's types with an obvious Go value type, which pgx
// scans into directly (failing on NULL).
var notNullTypes = map[string]string{
	"Text": "string", "Int2": "int16", "Int4": "int32", "Int8": "int64", "Float4": "float32",
	"Float8": "float64", "Bool": "bool", "Timestamptz": "time.Time", "Timestamp": "time.Time",
	"Date": "time.Time", "UUID": "[16]byte",
}

// holdsNull reports whether values of t can be NULL already: a pointer,
// slice, map or interface, a pgtype type with Valid, sql.Null….
func holdsNull(t ast.Expr, file *ast.File) bool {
	switch t := t.(type) {
	case *ast.StarExpr, *ast.MapType, *ast.InterfaceType:
		return true
	case *ast.ArrayType:
		return t.Len == nil
	case *ast.SelectorExpr:
		if nullablePgtype(t, file) {
			return true
		}
		id, ok := t.X.(*ast.Ident)
		if !ok {
			return false
		}
		path, _ := importOf(file, id.Name)
		return path == "database/sql" && strings.HasPrefix(t.Sel.Name, "Null")
	}
	return false
}

// retype returns the type a column override makes of t ("" for no change).
func retype(p *pkg, t ast.Expr, file *ast.File, nullable bool) (string, error) {
	if nullable {
		if holdsNull(t, file) {
			return "", nil
		}
		return "*" + text(p.fset, t), nil
	}
	switch t := t.(type) {
	case *ast.StarExpr:
		return text(p.fset, t.X), nil
	case *ast.SelectorExpr:
		if !nullablePgtype(t, file) {
			break
		}
		if v, ok := notNullTypes[t.Sel.Name]; ok {
			return v, nil
		}
		return "", fmt.Errorf("pgtype.%s has no obvious Go value type: drop the notnull or override the column's type in sqlc.yaml", t.Sel.Name)
	}
	if holdsNull(t, file) {
		return "", fmt.Errorf("%s holds NULL and pgkitgen knows no non-null type for it", text(p.fset, t))
	}
	return "", nil
}

// norm is a column or field name compared case-insensitively without
// underscores (sqlc's last_written is LastWritten).
func norm(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "")) }

// isColumnField reports whether sqlc's field (or single-column variable)
// f holds the result column col: the name sqlc's rename gives col, else
// col in camel case.
func (p *pkg) isColumnField(f, col string) bool {
	if r, ok := p.rename[col]; ok {
		return norm(r) == norm(f)
	}
	return norm(f) == norm(col)
}

// String is the annotation as the user wrote it: pgkit:notnull bio.
func (m nullMark) String() string {
	if m.nullable {
		return "pgkit:nullable " + m.name
	}
	return "pgkit:notnull " + m.name
}

// structOf returns the struct the package declares as name, and its file.
func structOf(p *pkg, name string) (*ast.StructType, *ast.File, bool) {
	lt, ok := p.local[name]
	if !ok {
		return nil, nil, false
	}
	st, ok := lt.typ.(*ast.StructType)
	return st, lt.file, ok
}

// planScan decides pb's row type, its declaration when it is new, and the
// scan, from its default variant h.
func planScan(p *pkg, pb *public, params []string, im *imports) error {
	h := pb.first()
	rn := renamer(pb.rename)
	plan := scanPlan{rowType: rn(text(p.fset, h.row.Type)), result: rn(text(p.fset, h.result))}
	for _, a := range h.scan.Args {
		plan.targets = append(plan.targets, text(p.fset, a))
	}
	rowName := text(p.fset, h.row.Type)
	st, stFile, isStruct := structOf(p, rowName)
	if !isStruct {
		// A single column: the row variable is the column.
		if len(h.embeds) > 0 {
			return h.errorf("%d pgkit:embed lines, but the row is a single column of %s", len(h.embeds), rowName)
		}
		switch {
		case len(h.columns) > 1:
			return h.errorf("%d column overrides (pgkit:nullable, pgkit:notnull) for a single-column row", len(h.columns))
		case len(h.columns) == 1:
			if c := h.columns[0]; h.colVar != "" && !p.isColumnField(h.colVar, c.name) {
				return h.errorf("%s: no such column; the query's one column is %s", c, h.colVar)
			}
			nt, err := retype(p, h.row.Type, h.file, h.columns[0].nullable)
			if err != nil {
				return h.errorf("%s: %v", h.columns[0], err)
			}
			if nt != "" {
				useTime(im, nt)
				plan.result = strings.Replace(plan.result, plan.rowType, nt, 1)
				plan.rowType = nt
			}
		}
		pb.plan = plan
		return nil
	}
	_, hiddenRow := pb.rename[rowName]
	public := pb.name + "Row"
	if !hiddenRow && len(h.columns) == 0 {
		if len(h.embeds) > 0 {
			return h.errorf("%d pgkit:embed lines, but the row is the model %s, which has no embeds", len(h.embeds), rowName)
		}
		pb.plan = plan // a model row, kept
		return nil
	}
	if !hiddenRow { // a model row whose columns change: a row type of its own
		plan.result = strings.Replace(plan.result, rowName, public, 1)
		plan.rowType = public
	}
	// The row's fields, their new types, and its embeds in scan order.
	changed := map[string]string{}
	embeds := embedFields(plan.targets)
	if len(h.embeds) > 0 && len(h.embeds) != len(embeds) {
		return h.errorf("%d pgkit:embed lines, but sqlc's row has %d embeds (%s)", len(h.embeds), len(embeds), strings.Join(embeds, ", "))
	}
	var fieldNames []string
	fieldType := map[string]ast.Expr{}
	for _, f := range st.Fields.List {
		for _, n := range f.Names {
			fieldNames = append(fieldNames, n.Name)
			fieldType[n.Name] = f.Type
		}
	}
	for _, c := range h.columns {
		var match string
		for _, f := range fieldNames {
			if p.isColumnField(f, c.name) && !slices.Contains(embeds, f) {
				match = f
			}
		}
		if match == "" {
			var cols []string
			for _, f := range fieldNames {
				if !slices.Contains(embeds, f) {
					cols = append(cols, f)
				}
			}
			if len(cols) == 0 {
				return h.errorf("%s: the row has only embeds (%s), no column fields", c, strings.Join(embeds, ", "))
			}
			return h.errorf("%s: the row has no field for column %s (its fields: %s)", c, c.name, strings.Join(cols, ", "))
		}
		nt, err := retype(p, fieldType[match], stFile, c.nullable)
		if err != nil {
			return h.errorf("%s (field %s): %v", c, match, err)
		}
		if nt != "" {
			useTime(im, nt)
			changed[match] = nt
		}
	}
	for k, e := range embeds {
		if len(h.embeds) == 0 || !h.embeds[k].nullable {
			continue
		}
		et := text(p.fset, fieldType[e])
		changed[e] = "*" + et
		if err := planNullEmbed(p, h, &plan, e, et, params, im); err != nil {
			return err
		}
	}
	if err := im.uses(stFile, st); err != nil {
		return h.errorf("%v", err)
	}
	pb.types = append(pb.types, structDecl(p, public, fmt.Sprintf("%s is a row of %s.", public, pb.name), st, changed))
	pb.plan = plan
	return nil
}

// planNullEmbed replaces the scan targets of embed field e (of model type
// et) with pointer temporaries, and sets e from them after the scan.
func planNullEmbed(p *pkg, h *hidden, plan *scanPlan, e, et string, params []string, im *imports) error {
	st, file, ok := structOf(p, et)
	if !ok {
		return h.errorf("embed %s: %s is not a struct of the package", e, et)
	}
	types := map[string]ast.Expr{}
	for _, f := range st.Fields.List {
		for _, n := range f.Names {
			types[n.Name] = f.Type
		}
	}
	var nils, keyed []string
	for at, a := range h.scan.Args {
		sel := scanField(a)
		if len(sel) != 2 || sel[0] != e {
			continue
		}
		ft, ok := types[sel[1]]
		if !ok {
			return h.errorf("embed %s: %s has no field %s", e, et, sel[1])
		}
		tmp := pickLocal(params, fmt.Sprintf("%s%s", lowerFirst(e), sel[1]), fmt.Sprintf("pgkit%s%s", e, sel[1]))
		typ, val := text(p.fset, ft), tmp
		if _, ptr := ft.(*ast.StarExpr); !ptr {
			typ, val = "*"+typ, "pgkitValue("+tmp+")"
			plan.value = true
		}
		if err := im.uses(file, ft); err != nil {
			return h.errorf("embed %s: %v", e, err)
		}
		plan.temps = append(plan.temps, fmt.Sprintf("var %s %s", tmp, typ))
		plan.targets[at] = "&" + tmp
		nils = append(nils, tmp+" != nil")
		keyed = append(keyed, sel[1]+": "+val)
	}
	plan.post = append(plan.post, fmt.Sprintf("if %s {\n\ti.%s = &%s{%s}\n}", strings.Join(nils, " || "), e, et, strings.ReplaceAll(list(keyed), "\n", "\n\t")))
	return nil
}

// scanField returns the field path of a scan target &i.A (A) or &i.A.B
// (A, B), or nil.
func scanField(a ast.Expr) []string {
	u, ok := a.(*ast.UnaryExpr)
	if !ok {
		return nil
	}
	var path []string
	x := u.X
	for {
		sel, ok := x.(*ast.SelectorExpr)
		if !ok {
			break
		}
		path = append([]string{sel.Sel.Name}, path...)
		x = sel.X
	}
	if id, ok := x.(*ast.Ident); !ok || id.Name != "i" {
		return nil
	}
	return path
}

// structDecl prints the declaration of a struct named name with st's
// fields, types replaced by changed.
func structDecl(p *pkg, name, doc string, st *ast.StructType, changed map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "// %s\ntype %s struct {\n", doc, name)
	for _, f := range st.Fields.List {
		for _, n := range f.Names {
			t := text(p.fset, f.Type)
			if c, ok := changed[n.Name]; ok {
				t = c
			}
			tag := ""
			if f.Tag != nil {
				tag = " " + f.Tag.Value
			}
			fmt.Fprintf(&b, "\t%s %s%s\n", n.Name, t, tag)
		}
	}
	b.WriteString("}\n\n")
	return b.String()
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// useTime imports time when a retyped column is time.Time.
func useTime(im *imports, typ string) {
	if strings.Contains(typ, "time.") {
		im.add("time", "time")
	}
}
