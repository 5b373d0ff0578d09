package main

import (
	"fmt"
	"go/ast"
	"go/token"
	"strings"
)

// nestQuery is a hidden query pgkitX whose public method X pgkitgen
// writes because of a pgkit:nest line (one-to-many grouped from
// consecutive rows) or pgkit:json lines (child lists decoded from JSON
// columns), or both.
type nestQuery struct {
	method // sqlc's hidden method
	d      nestDirectives
	user   []string // the user's doc lines
	many   bool     // sqlc's method is :many (a loop over rows) rather than :one
	call   *ast.CallExpr
	db     ast.Expr
	params []string // the hidden method's parameter names
	row    string   // sqlc's row type
	ptr    bool     // emit_result_struct_pointers: the public methods return *XRow, as sqlc's do
	empty  bool     // sqlc's :many starts from an empty slice (emit_empty_slices)
	sql    string   // the statement of sqlc's constant
	stmt   string   // the public method's statement constant (names.publicSQL), set when rendering

	fields   []outField   // the public row's fields, in sqlc's order
	targets  []scanTarget // what each of sqlc's Scan arguments becomes
	pubRow   string       // the public row type: X + "Row"
	key      string       // the parent key: the field path of the first scanned column (nest)
	child    string       // the child's type (nest)
	childFld string       // the public slice field (nest)
	copies   []typeCopy   // public copies of sqlc's hidden parameter types
	jsonTyps []string     // the types decoded from JSON, for their decoders
}

// outField is a field of the public row type.
type outField struct {
	name, typ, tag string
}

// scanTarget is one Scan argument of the public method: sqlc's own (&i.F),
// a pointer temporary of a nest child column, or the []byte of a JSON
// column decoded after the scan.
type scanTarget struct {
	expr     string // sqlc's argument, e.g. &i.Book.ID
	temp     string // the temporary scanned into; "" for sqlc's argument
	tempType string // its type
	child    string // the child's field it fills (nest)
	json     *jsonCol
}

// jsonCol is a JSON column decoded into a slice field.
type jsonCol struct {
	field, typ, column string
}

// typeCopy is a public copy XParams of sqlc's hidden pgkitXParams,
// declared by structDecl as publish.go declares its own.
type typeCopy struct {
	from, to string
	st       *ast.StructType
	file     *ast.File
}

// nestMethod is one of sqlc's hidden methods pgkit+X with pgkit:nest or
// pgkit:json lines, its doc comment split (docLines), as read found it.
type nestMethod struct {
	method
	dirs []directive
	user []string
}

// readNests plans the public methods of the hidden nest and json queries
// read found, in their order.
func readNests(p *pkg, ms []nestMethod) ([]nestQuery, error) {
	var out []nestQuery
	consts, _ := stmtConsts(p)
	for _, m := range ms {
		fd := m.decl
		where := p.whereIs(fd)
		nd, err := parseNestDirectives(where, fd.Name.Name, m.dirs)
		if err != nil {
			return nil, err
		}
		if fd.Name.Name != "pgkit"+nd.public {
			return nil, fmt.Errorf("%s: query %s: pgkit:public %s, want the hidden name pgkit%s (pgkit:sort is not supported with pgkit:nest or pgkit:json yet)", where, fd.Name.Name, nd.public, nd.public)
		}
		q, err := planNest(p, m.method, nd, m.user)
		if err == nil {
			q.sql, err = callSQL(consts, q.call)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: query %s (public %s): %w", where, fd.Name.Name, nd.public, err)
		}
		out = append(out, q)
	}
	return out, nil
}

// planNest recognises sqlc's method and plans the public one.
func planNest(p *pkg, m method, d nestDirectives, user []string) (nestQuery, error) {
	q := nestQuery{method: m, d: d, user: user, pubRow: d.public + "Row", params: paramNames(m.decl)}
	var scan *ast.CallExpr
	if s, isMany, err := manyQuery(p.fset, m); err != nil {
		return q, err
	} else if isMany {
		q.many, q.call, q.db, scan = true, s.call, s.db, s.scan
		_, q.ptr = s.item.(*ast.UnaryExpr)
		q.row = text(p.fset, s.row.Type)
		q.empty = emptyStart(p.fset, m.decl)
	} else {
		one, err := oneQuery(p.fset, m.decl)
		if err != nil {
			return q, err
		}
		if n := one.row.Names[0].Name; n != "i" {
			return q, fmt.Errorf("the result is one column (sqlc scans it into %s, not a row struct): select the parent's columns beside it", n)
		}
		q.call, q.db, q.row, scan = one.call, one.db, text(p.fset, one.row.Type), one.scan
		_, q.ptr = one.ret.Results[0].(*ast.UnaryExpr)
	}
	if d.nestArg != "" && !q.many {
		return q, fmt.Errorf("pgkit:nest needs the hidden query to be :many (stage 1 writes :many with pgkit:one or pgkit:opt for one parent)")
	}
	lt, ok := p.local[q.row]
	st, isStruct := lt.typ.(*ast.StructType)
	if col := rowVar(m.decl); !ok && len(d.json) > 0 && col != "" {
		// One column: sqlc's row is that column's variable.
		for _, j := range d.json {
			if norm(col) != norm(j.column) && !p.isColumnField(col, j.column) {
				return q, fmt.Errorf("pgkit:json %s: no such result column (the query's one column is %s)", j.column, col)
			}
		}
		return q, fmt.Errorf("pgkit:json %s: the JSON column is the query's only column: select the parent's columns beside it", d.json[0].column)
	}
	if !ok || !isStruct {
		return q, fmt.Errorf("sqlc's row type %s is not a struct of the package", q.row)
	}
	for _, a := range scan.Args {
		q.targets = append(q.targets, scanTarget{expr: text(p.fset, a)})
	}
	if err := planFields(p, &q, st); err != nil {
		return q, err
	}
	if err := planParams(p, &q); err != nil {
		return q, err
	}
	return q, nil
}

// publicKind is the command of the public method as the user wrote it:
// opt, one or many.
func (q nestQuery) publicKind() string {
	switch {
	case q.d.opt:
		return "opt"
	case q.d.one || !q.many:
		return "one"
	}
	return "many"
}

// emptyStart reports whether sqlc's :many starts from items := []T{}.
func emptyStart(fset *token.FileSet, fd *ast.FuncDecl) bool {
	for _, st := range fd.Body.List {
		if as, ok := st.(*ast.AssignStmt); ok && len(as.Lhs) == 1 && text(fset, as.Lhs[0]) == "items" {
			_, ok := as.Rhs[0].(*ast.CompositeLit)
			return ok
		}
	}
	return false
}

// planFields builds the public row's fields and the scan targets: the
// nest embed becomes the child slice, JSON columns typed slices.
func planFields(p *pkg, q *nestQuery, st *ast.StructType) error {
	var exprs []string
	for _, t := range q.targets {
		exprs = append(exprs, t.expr)
	}
	embeds := embedFields(exprs)
	nestFld := ""
	if q.d.nestArg != "" {
		f, err := nestEmbedField(q.d, embeds)
		if err != nil {
			return err
		}
		nestFld = f
	}
	for _, e := range q.d.embeds {
		if e.nullable && e.arg != q.d.nestArg {
			return fmt.Errorf("embed %s is nullable: only the pgkit:nest embed may be nullable in a nest or json query (a nullable parent embed is not supported yet)", e.arg)
		}
	}
	jsonUsed := map[string]bool{}
	for _, f := range st.Fields.List {
		if len(f.Names) != 1 {
			return fmt.Errorf("sqlc's row %s has an embedded or multi-name field", q.row)
		}
		name, typ, tag := f.Names[0].Name, text(p.fset, f.Type), ""
		if f.Tag != nil {
			tag = f.Tag.Value
		}
		switch {
		case name == nestFld:
			q.child = typ
			if _, ok := p.local[typ]; !ok {
				return fmt.Errorf("the nest embed %s is of type %s, not a struct of the package", name, typ)
			}
			q.childFld = q.d.nestField
			if q.childFld == "" {
				q.childFld = name + "s"
			}
			q.fields = append(q.fields, outField{q.childFld, "[]" + typ, sliceTag(tag, name, q.childFld)})
		default:
			if j, ok := jsonFor(q.d.json, name, tag); ok {
				if typ != "[]byte" && typ != "json.RawMessage" {
					return fmt.Errorf("pgkit:json %s: sqlc typed the column %s, not []byte: is it json or jsonb?", j.column, typ)
				}
				if jsonUsed[j.column] {
					return fmt.Errorf("pgkit:json %s twice", j.column)
				}
				jsonUsed[j.column] = true
				q.fields = append(q.fields, outField{name, "[]" + j.typ, tag})
				q.jsonTyps = append(q.jsonTyps, j.typ)
				for k := range q.targets {
					if q.targets[k].expr == "&i."+name {
						q.targets[k].temp, q.targets[k].tempType = fmt.Sprintf("j%d", k), "[]byte"
						q.targets[k].json = &jsonCol{field: name, typ: j.typ, column: j.column}
					}
				}
				continue
			}
			q.fields = append(q.fields, outField{name, typ, tag})
		}
	}
	for _, j := range q.d.json {
		if !jsonUsed[j.column] {
			return fmt.Errorf("pgkit:json %s: no such result column (the row's fields: %s)", j.column, fieldNames(st))
		}
	}
	if nestFld == "" {
		return nil
	}
	if len(q.targets) == 0 || strings.HasPrefix(q.targets[0].expr, "&i."+nestFld+".") {
		return fmt.Errorf("the first scanned column, the parent key, is the nest embed's: select the parent's key first")
	}
	q.key = strings.TrimPrefix(q.targets[0].expr, "&i.")
	keyType, err := pathType(p, q.row, q.key)
	if err != nil {
		return err
	}
	if strings.HasPrefix(keyType, "[]") || strings.HasPrefix(keyType, "map[") || keyType == "pgtype.Numeric" || keyType == "*pgtype.Numeric" {
		return fmt.Errorf("the parent key %s is of type %s, which == does not compare by value: select a key of another type first", q.key, keyType)
	}
	for k := range q.targets {
		col, ok := strings.CutPrefix(q.targets[k].expr, "&i."+nestFld+".")
		if !ok {
			continue
		}
		ct, err := pathType(p, q.child, col)
		if err != nil {
			return err
		}
		q.targets[k].temp, q.targets[k].tempType, q.targets[k].child = fmt.Sprintf("c%d", k), "*"+ct, col
	}
	return nil
}

// embedFields returns the fields of sqlc's row that are embeds (scanned
// as &i.F.G), in scan order, from the scan targets' text; for nest.go's
// planFields and publish_null.go's planScan alike.
func embedFields(targets []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, t := range targets {
		parts := strings.Split(strings.TrimPrefix(t, "&i."), ".")
		if len(parts) == 2 && !seen[parts[0]] {
			seen[parts[0]] = true
			out = append(out, parts[0])
		}
	}
	return out
}

// nestEmbedField maps pgkit:nest's ARG to sqlc's embed field: through the
// pgkit:embed lines (one per sqlc.embed, in select order), or the only
// embed when there are none.
func nestEmbedField(d nestDirectives, embeds []string) (string, error) {
	if len(d.embeds) == 0 {
		if len(embeds) == 1 {
			return embeds[0], nil
		}
		return "", fmt.Errorf("pgkit:nest %s: the row has %d embeds and no pgkit:embed lines saying which is %s", d.nestArg, len(embeds), d.nestArg)
	}
	if len(d.embeds) != len(embeds) {
		return "", fmt.Errorf("%d pgkit:embed lines, but sqlc's row has %d embeds (%s)", len(d.embeds), len(embeds), strings.Join(embeds, ", "))
	}
	for k, e := range d.embeds {
		if e.arg == d.nestArg {
			return embeds[k], nil
		}
	}
	return "", fmt.Errorf("pgkit:nest %s: no pgkit:embed line names %s", d.nestArg, d.nestArg)
}

// jsonFor returns the pgkit:json line of sqlc's field name (json tag
// tag): its column is the tag's name, or the field's name in snake_case.
func jsonFor(lines []jsonLine, name, tag string) (jsonLine, bool) {
	for _, j := range lines {
		if tagName(tag) == j.column || strings.EqualFold(strings.ReplaceAll(j.column, "_", ""), name) {
			return j, true
		}
	}
	return jsonLine{}, false
}

// tagName returns the json name of a struct tag literal, or "".
func tagName(tag string) string {
	_, rest, ok := strings.Cut(tag, `json:"`)
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, `"`)
	name, _, _ = strings.Cut(name, ",")
	return name
}

// sliceTag is the struct tag of the child slice: sqlc's tag of the embed
// with the json name of the slice (the embed's + "s", or FIELD in the
// embed tag's style).
func sliceTag(tag, embed, field string) string {
	old := tagName(tag)
	if old == "" {
		return tag
	}
	name := old + "s"
	if field != embed+"s" {
		name = jsonCase(field, old)
	}
	return strings.Replace(tag, `json:"`+old, `json:"`+name, 1)
}

// jsonCase writes field in the case style like is written in: snake when
// it is lower case, camel when it starts lower, else as it is.
func jsonCase(field, like string) string {
	switch {
	case like == strings.ToLower(like):
		var b strings.Builder
		for k, r := range field {
			if r >= 'A' && r <= 'Z' {
				if k > 0 {
					b.WriteByte('_')
				}
				r += 'a' - 'A'
			}
			b.WriteRune(r)
		}
		return b.String()
	case like[0] >= 'a' && like[0] <= 'z':
		return lowerFirst(field)
	}
	return field
}

// pathType returns the type of the field path (F or F.G) of the struct
// type typ of the package.
func pathType(p *pkg, typ, path string) (string, error) {
	cur := typ
	var out string
	for _, name := range strings.Split(path, ".") {
		lt, ok := p.local[cur]
		st, isStruct := lt.typ.(*ast.StructType)
		if !ok || !isStruct {
			return "", fmt.Errorf("%s is not a struct of the package", cur)
		}
		found := false
		for _, f := range st.Fields.List {
			for _, n := range f.Names {
				if n.Name == name {
					out, found = text(p.fset, f.Type), true
				}
			}
		}
		if !found {
			return "", fmt.Errorf("%s has no field %s", cur, name)
		}
		cur = out
	}
	return out, nil
}

// fieldNames lists a struct's field names.
func fieldNames(st *ast.StructType) string {
	var ns []string
	for _, f := range st.Fields.List {
		for _, n := range f.Names {
			ns = append(ns, n.Name)
		}
	}
	return strings.Join(ns, ", ")
}

// planParams records public copies of sqlc's hidden parameter types
// (pgkitXParams → XParams); other parameter types stay.
func planParams(p *pkg, q *nestQuery) error {
	for _, f := range q.decl.Type.Params.List {
		t := f.Type
		if s, ok := t.(*ast.StarExpr); ok {
			t = s.X
		}
		id, ok := t.(*ast.Ident)
		if !ok || !strings.HasPrefix(id.Name, "pgkit") {
			continue
		}
		lt, ok := p.local[id.Name]
		st, isStruct := lt.typ.(*ast.StructType)
		if !ok || !isStruct {
			return fmt.Errorf("parameter type %s is not a struct of the package", id.Name)
		}
		to := strings.TrimPrefix(id.Name, "pgkit")
		if p.taken[to] {
			return fmt.Errorf("the public parameter type %s is already declared", to)
		}
		q.copies = append(q.copies, typeCopy{from: id.Name, to: to, st: st, file: lt.file})
	}
	if p.taken[q.pubRow] {
		return fmt.Errorf("the public row type %s is already declared", q.pubRow)
	}
	return nil
}
