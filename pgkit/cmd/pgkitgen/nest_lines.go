package main

import (
	"fmt"
	"go/ast"
	"strings"
)

// directive is one "pgkit:" line of a hidden query's doc comment: what
// pgkitgen expand (stage 1) decided and left for stage 2, copied by sqlc
// from the "-- pgkit:" comment lines of the query.
type directive struct {
	verb string
	args []string
	line int // its line in sqlc's Go file, for errors
}

// docLines splits a method's doc comment into its pgkit: directives and
// the user's own lines (the public method's doc comment).
//
// merge: may duplicate publish.go (the generic hidden pgkitX → public X
// reading of the other stage-2 work).
func docLines(p *pkg, fd *ast.FuncDecl) (dirs []directive, user []string) {
	if fd.Doc == nil {
		return nil, nil
	}
	for _, c := range fd.Doc.List {
		line := strings.TrimPrefix(strings.TrimPrefix(c.Text, "//"), " ")
		if rest, ok := strings.CutPrefix(line, "pgkit:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				dirs = append(dirs, directive{verb: f[0], args: f[1:], line: p.fset.Position(c.Pos()).Line})
				continue
			}
		}
		user = append(user, line)
	}
	for len(user) > 0 && strings.TrimSpace(user[len(user)-1]) == "" {
		user = user[:len(user)-1]
	}
	return dirs, user
}

// hasVerb reports whether dirs has a line of verb.
func hasVerb(dirs []directive, verb string) bool {
	for _, d := range dirs {
		if d.verb == verb {
			return true
		}
	}
	return false
}

// isNestQuery reports whether a hidden query is one this part of stage 2
// writes the public method of: it has a pgkit:nest or pgkit:json line.
// The other hidden queries (opt, nullable, sort alone) are publish.go's.
func isNestQuery(dirs []directive) bool {
	return hasVerb(dirs, "nest") || hasVerb(dirs, "json")
}

// nestDirectives are the directives of one nest or json query, checked.
type nestDirectives struct {
	public    string
	one, opt  bool
	embeds    []embedLine // in select order; empty when stage 1 wrote none
	nestArg   string      // the embed's argument of pgkit:nest; "" without nest
	nestField string      // the slice field's name; "" for the default
	json      []jsonLine
}

type embedLine struct {
	arg      string
	nullable bool
}

// jsonLine is "pgkit:json COLUMN TYPE": the result column COLUMN (json or
// jsonb, a JSON array of objects) decoded into []TYPE, TYPE a struct type
// of the package whose json tags are the objects' keys.
type jsonLine struct {
	column, typ string
	line        int
}

// parseNestDirectives checks the directives of the hidden query name.
func parseNestDirectives(name string, dirs []directive) (nestDirectives, error) {
	var d nestDirectives
	bad := func(dr directive, format string, args ...any) error {
		return fmt.Errorf("query %s (line %d of sqlc's file): pgkit:%s: %s", name, dr.line, dr.verb, fmt.Sprintf(format, args...))
	}
	for _, dr := range dirs {
		switch dr.verb {
		case "public":
			if len(dr.args) != 1 || !ast.IsExported(dr.args[0]) {
				return d, bad(dr, "want one exported Go name, got %q", strings.Join(dr.args, " "))
			}
			d.public = dr.args[0]
		case "one", "opt":
			if len(dr.args) != 0 {
				return d, bad(dr, "takes no arguments")
			}
			if dr.verb == "one" {
				d.one = true
			} else {
				d.opt = true
			}
		case "embed":
			if len(dr.args) != 2 || (dr.args[1] != "nullable" && dr.args[1] != "notnull") {
				return d, bad(dr, "want ARG nullable|notnull, got %q", strings.Join(dr.args, " "))
			}
			d.embeds = append(d.embeds, embedLine{dr.args[0], dr.args[1] == "nullable"})
		case "nest":
			if len(dr.args) < 1 || len(dr.args) > 2 {
				return d, bad(dr, "want ARG [FIELD], got %q", strings.Join(dr.args, " "))
			}
			if d.nestArg != "" {
				return d, bad(dr, "a second nest: one child list per grouped query (use pgkit:json columns for more)")
			}
			d.nestArg = dr.args[0]
			if len(dr.args) == 2 {
				if !ast.IsExported(dr.args[1]) {
					return d, bad(dr, "FIELD %s is not an exported Go name", dr.args[1])
				}
				d.nestField = dr.args[1]
			}
		case "json":
			if len(dr.args) != 2 || !ast.IsExported(dr.args[1]) {
				return d, bad(dr, "want COLUMN TYPE (TYPE an exported struct type of the package), got %q", strings.Join(dr.args, " "))
			}
			d.json = append(d.json, jsonLine{dr.args[0], dr.args[1], dr.line})
		case "source":
			// Where stage 1 read the query; errors of stage 2 name sqlc's file.
		default:
			return d, bad(dr, "not supported in a query with pgkit:nest or pgkit:json (known here: public, one, opt, embed, nest, json, source)")
		}
	}
	if d.public == "" {
		return d, fmt.Errorf("query %s: no pgkit:public line (stage 1 writes one on every hidden query)", name)
	}
	if d.one && d.opt {
		return d, fmt.Errorf("query %s: both pgkit:one and pgkit:opt", name)
	}
	if (d.one || d.opt) && d.nestArg == "" {
		return d, fmt.Errorf("query %s: pgkit:one/pgkit:opt here only with pgkit:nest (a plain :opt is publish.go's)", name)
	}
	return d, nil
}
