package main

import (
	"fmt"
	"strings"
)

// Typed sort orders. Stage 1 emits a query X with orders a (the default)
// and b as two static statements pgkitXSortA and pgkitXSortB; pgkitgen
// writes one public X taking sqlc's parameters and a sort XSort, which
// picks the statement (a switch over constants: no SQL is built at run
// time) and scans its rows as the variants do (their columns are the
// same, which sameVariants checks).

// checkVariants fails on a group that is neither one query without
// pgkit:sort nor a sort set with distinct names and exactly one default.
func checkVariants(pb *public) error {
	vs := pb.variants
	if len(vs) == 1 && vs[0].sort == "" {
		return nil
	}
	seen := map[string]*hidden{}
	defaults := 0
	for _, h := range vs {
		if h.sort == "" {
			return h.errorf("%d queries publish %s, and this one has no pgkit:sort line (a sort variant is missing its order, or two queries have one public name)", len(vs), pb.name)
		}
		if other, dup := seen[camel(h.sort)]; dup {
			return h.errorf("sort %s is declared twice (also by %s)", h.sort, other.decl.Name.Name)
		}
		seen[camel(h.sort)] = h
		if h.deflt {
			defaults++
		}
		if h.opt != vs[0].opt {
			return h.errorf("pgkit:opt differs between the variants of sort set %s", pb.name)
		}
	}
	if defaults != 1 {
		return vs[0].errorf("sort set %s has %d variants marked default, want exactly one (pgkit:sort NAME default)", pb.name, defaults)
	}
	return nil
}

// sameVariants fails unless every variant of pb has the default's shape:
// the same parameters, row, scan and arguments once sqlc's type names are
// the public ones.
func sameVariants(p *pkg, pb *public) error {
	rn := renamer(pb.rename)
	first := pb.first()
	shape := func(h *hidden) map[string]string {
		args := []string{text(p.fset, h.call.Args[0])}
		for _, a := range h.call.Args[2:] {
			args = append(args, text(p.fset, a))
		}
		m := map[string]string{
			"kind":       h.kind,
			"signature":  rn(text(p.fset, h.decl.Type)),
			"row type":   rn(text(p.fset, h.row.Type)),
			"scan":       text(p.fset, h.scan),
			"arguments":  strings.Join(args, ", "),
			"embeds":     fmt.Sprint(h.embeds),
			"columns":    fmt.Sprint(h.columns),
			"Params":     "",
			"Row fields": "",
		}
		if st, ok := structOfName(p, h.decl.Name.Name+"Params"); ok {
			m["Params"] = rn(text(p.fset, st))
		}
		if st, ok := structOfName(p, h.decl.Name.Name+"Row"); ok {
			m["Row fields"] = rn(text(p.fset, st))
		}
		return m
	}
	want := shape(first)
	for _, v := range pb.variants[1:] {
		got := shape(v)
		for _, k := range []string{"kind", "Params", "Row fields", "row type", "signature", "scan", "arguments", "embeds", "columns"} {
			if got[k] != want[k] {
				return v.errorf("the sort variants of %s differ in their %s: %s has %s, %s has %s", pb.name, k, v.decl.Name.Name, orNone(got[k]), first.decl.Name.Name, orNone(want[k]))
			}
		}
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return strings.Join(strings.Fields(s), " ")
}

// sortNames lists pb's orders for messages: "newest, rating".
func sortNames(pb *public) string {
	var ns []string
	for _, v := range pb.variants {
		ns = append(ns, v.sort)
	}
	return strings.Join(ns, ", ")
}

// renderSortType writes XSort, its constants and methods, and ParseXSort.
func renderSortType(w func(string, ...any), pb *public) {
	st, def := pb.sortType, pb.first().sort
	w("// %s is an order of %s's rows.\n// The zero value is the default, %s.\ntype %s string\n\n", st, pb.name, def, st)
	w("// The orders of %s.\nconst (\n", pb.name)
	var consts []string
	for k, v := range pb.variants {
		c := st + camel(v.sort)
		consts = append(consts, c)
		note := ""
		if k == 0 {
			note = " // the default"
		}
		w("\t%s %s = %q%s\n", c, st, v.sort, note)
	}
	w(")\n\n")
	w(`// Valid reports whether s is one of the orders or the zero value.
func (s %[1]s) Valid() bool {
	switch s {
	case "", %[2]s:
		return true
	}
	return false
}

// String returns the order's name (the default's for the zero value).
func (s %[1]s) String() string {
	if s == "" {
		return %[3]q
	}
	return string(s)
}

// Parse%[1]s returns the order named s ("" is the default); any other
// name is an error.
func Parse%[1]s(s string) (%[1]s, error) {
	if v := %[1]s(s); v.Valid() {
		return v, nil
	}
	return "", fmt.Errorf("%[4]s: unknown sort %%q (want one of %[5]s)", s)
}

`, st, strings.Join(consts, ", "), def, pb.name, sortNames(pb))
}

// dispatch is the switch that picks pb's statement into query by sortVar,
// fail(errExpr) being what the method does on an unknown order; for a
// query without sorts it is "" and query is the one statement's constant.
func dispatch(pb *public, consts []string, sortVar, query, fail, fmtName string) string {
	if pb.sortType == "" {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "var %s string\n\tswitch %s {\n", query, sortVar)
	for k, v := range pb.variants {
		c := pb.sortType + camel(v.sort)
		if k == 0 {
			c = `"", ` + c
		}
		fmt.Fprintf(&b, "\tcase %s:\n\t\t%s = %s\n", c, query, consts[k])
	}
	fmt.Fprintf(&b, "\tdefault:\n\t\t%s\n\t}\n\t", strings.ReplaceAll(fail, "ERR", fmt.Sprintf("%s.Errorf(\"%s: unknown sort %%q (want one of %s)\", string(%s))", fmtName, pb.name, sortNames(pb), sortVar)))
	return b.String()
}
