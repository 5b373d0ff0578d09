package main

import (
	"fmt"
	"go/ast"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// imports is the import list of the generated file: what its code uses,
// by the local name it uses it under.
type imports struct {
	byName map[string]string // local name → import path
	err    error             // the first clash of two paths under one name
}

func newImports() *imports { return &imports{byName: map[string]string{}} }

// add records that the code refers to path as name. A clash is returned
// and also kept in im.err, which render checks before it writes.
func (im *imports) add(name, path string) error {
	if old, ok := im.byName[name]; ok && old != path {
		err := fmt.Errorf("two imports named %s: %q and %q", name, old, path)
		if im.err == nil {
			im.err = err
		}
		return err
	}
	im.byName[name] = path
	return nil
}

// uses records the imports the type expressions in nodes refer to, as
// file imports them.
func (im *imports) uses(file *ast.File, nodes ...ast.Node) error {
	var err error
	for _, n := range nodes {
		ast.Inspect(n, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok || err != nil {
				return err == nil
			}
			id, ok := sel.X.(*ast.Ident)
			if !ok {
				return true
			}
			if p, ok := importOf(file, id.Name); ok {
				err = im.add(id.Name, p)
			}
			return false
		})
	}
	return err
}

// importOf returns the path file imports as name, if it does.
func importOf(file *ast.File, name string) (string, bool) {
	for _, s := range file.Imports {
		p, err := strconv.Unquote(s.Path.Value)
		if err != nil {
			continue
		}
		local := defaultName(p)
		if s.Name != nil {
			local = s.Name.Name
		}
		if local == name {
			return p, true
		}
	}
	return "", false
}

var versionElem = regexp.MustCompile(`^v[0-9]+$`)

// defaultName guesses the package name of an import path as goimports
// does: the last element, skipping a major version (pgx/v5 → pgx), without
// a gopkg.in version (yaml.v3 → yaml) or a go- prefix. The file writes an
// explicit name whenever the one used differs from this guess, so a wrong
// guess costs only a redundant alias.
func defaultName(p string) string {
	base := path.Base(p)
	if versionElem.MatchString(base) && strings.Contains(p, "/") {
		base = path.Base(path.Dir(p))
	}
	if i := strings.Index(base, ".v"); i > 0 {
		base = base[:i]
	}
	base = strings.TrimPrefix(base, "go-")
	return strings.NewReplacer("-", "", ".", "").Replace(base)
}

// decl is the import declaration: the standard library first, then the
// rest, each sorted by path, as gofmt and goimports group them.
func (im *imports) decl() string {
	type spec struct{ name, path string }
	var std, other []spec
	for n, p := range im.byName {
		s := spec{n, p}
		if strings.Contains(strings.SplitN(p, "/", 2)[0], ".") {
			other = append(other, s)
		} else {
			std = append(std, s)
		}
	}
	if len(std)+len(other) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("import (\n")
	for i, group := range [][]spec{std, other} {
		sort.Slice(group, func(i, j int) bool { return group[i].path < group[j].path })
		if i == 1 && len(std) > 0 && len(other) > 0 {
			b.WriteString("\n")
		}
		for _, s := range group {
			if s.name == defaultName(s.path) {
				fmt.Fprintf(&b, "\t%q\n", s.path)
			} else {
				fmt.Fprintf(&b, "\t%s %q\n", s.name, s.path)
			}
		}
	}
	b.WriteString(")\n\n")
	return b.String()
}
