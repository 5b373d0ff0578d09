package main

import (
	"fmt"
	"go/ast"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Planning the public methods: grouping the hidden queries by public name
// (a sort set is one), the names each declares, and the type renames.

// groupPublic groups the hidden queries by public name and checks each
// group: one query, or a sort set of variants with one default.
func groupPublic(hs []*hidden) ([]*public, error) {
	by := map[string][]*hidden{}
	for _, h := range hs {
		by[h.public] = append(by[h.public], h)
	}
	var out []*public
	for name, vs := range by {
		sort.SliceStable(vs, func(i, j int) bool {
			if vs[i].deflt != vs[j].deflt {
				return vs[i].deflt
			}
			return vs[i].sort < vs[j].sort
		})
		pb := &public{name: name, variants: vs}
		if err := checkVariants(pb); err != nil {
			return nil, err
		}
		out = append(out, pb)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// renamer rewrites whole-word type names in printed Go.
func renamer(m map[string]string) func(string) string {
	if len(m) == 0 {
		return func(s string) string { return s }
	}
	var keys []string
	for k := range m {
		keys = append(keys, regexp.QuoteMeta(k))
	}
	sort.Strings(keys)
	re := regexp.MustCompile(`\b(` + strings.Join(keys, "|") + `)\b`)
	return func(s string) string { return re.ReplaceAllStringFunc(s, func(k string) string { return m[k] }) }
}

// planPublic plans the public method of every hidden query of p: its
// types, scan and names, claiming each name it will declare.
func planPublic(p *pkg, im *imports, claim func(name, why string) error, o Options) ([]*public, error) {
	if len(p.hidden) == 0 {
		return nil, nil
	}
	if err := findSQL(p, p.hidden); err != nil {
		return nil, err
	}
	pubs, err := groupPublic(p.hidden)
	if err != nil {
		return nil, err
	}
	for _, pb := range pubs {
		h := pb.first()
		why := "public query " + pb.name + " (from " + h.decl.Name.Name + ", " + h.where + ")"
		pb.rename = map[string]string{}
		for _, v := range pb.variants {
			for _, suffix := range []string{"Params", "Row", "BatchResults"} {
				if _, ok := structOfName(p, v.decl.Name.Name+suffix); ok {
					pb.rename[v.decl.Name.Name+suffix] = pb.name + suffix
				}
			}
		}
		if err := sameVariants(p, pb); err != nil {
			return nil, err
		}
		if err := claim(pb.name, why); err != nil {
			return nil, err
		}
		if h.kind == "many" {
			if err := claim(pb.name+o.StreamSuffix, "the stream of "+why); err != nil {
				return nil, err
			}
		}
		params := paramNames(h.decl)
		if h.batch != nil {
			params = append(params, batchLocals...)
		}
		if err := im.uses(h.file, h.decl.Type.Params, h.result); err != nil {
			return nil, h.errorf("%v", err)
		}
		if st, ok := structOfName(p, h.decl.Name.Name+"Params"); ok {
			if err := im.uses(h.file, st); err != nil {
				return nil, h.errorf("%v", err)
			}
			pb.types = append(pb.types, structDecl(p, pb.name+"Params", fmt.Sprintf("%sParams are the parameters of %s.", pb.name, pb.name), st, nil))
		}
		if err := planScan(p, pb, params, im); err != nil {
			return nil, err
		}
		if _, ok := pb.rename[text(p.fset, h.row.Type)]; !ok && pb.plan.rowType == pb.name+"Row" {
			pb.rename[pb.name+"Row"] = pb.name + "Row" // a model row retyped: declared, claimed below
		}
		advice := map[string]string{} // a name it declares → how to free it
		for _, to := range pb.rename {
			advice[to] = "rename the query"
		}
		if pb.first().sort != "" {
			pb.sortType = pb.name + "Sort"
			for _, ty := range []string{pb.sortType, "Parse" + pb.sortType} {
				advice[ty] = "rename the query (its sort type is " + pb.sortType + "), or rename the package's " + ty + " (a table's model: with sqlc's rename)"
			}
			for _, v := range pb.variants {
				advice[pb.sortType+camel(v.sort)] = "rename the query or the sort " + v.sort
			}
		}
		var types []string
		for ty := range advice {
			types = append(types, ty)
		}
		sort.Strings(types)
		for _, ty := range types {
			if p.taken[ty] {
				return nil, fmt.Errorf("%s: public query %s (from %s) would declare %s, which the package already declares: %s", h.where, pb.name, h.decl.Name.Name, ty, advice[ty])
			}
		}
		if pb.plan.value && p.taken["pgkitValue"] {
			return nil, fmt.Errorf("%s needs pgkitgen's helper pgkitValue, which the package already declares", why)
		}
	}
	return pubs, nil
}

// structOfName returns the struct type the package declares as name.
func structOfName(p *pkg, name string) (*ast.StructType, bool) {
	st, _, ok := structOf(p, name)
	return st, ok
}

// relocate makes the warnings about hidden query name speak of its public
// query, and point at the user's source (pgkit:source) when stage 1 said
// where it is: its query's first line, as the expanded file's lines past
// the pgkit: header need not match the source's.
func relocate(p *pkg, name string, ws []warning) {
	for _, h := range p.hidden {
		if h.decl.Name.Name != name {
			continue
		}
		for i := range ws {
			ws[i].text = strings.Replace(ws[i].text, name+":", h.public+" ("+name+"):", 1)
			if file, line, ok := strings.Cut(h.source, ":"); ok {
				if n, err := strconv.Atoi(line); err == nil {
					ws[i].path, ws[i].line = file, n
				}
			}
		}
	}
}
