package main

import (
	"bufio"
	"bytes"
	"fmt"
	"go/ast"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v2"
)

// Finding where a query is written: sqlc's Go output names the query, not
// the file and line it comes from (batch.go and copyfrom.go name
// themselves as their source), so pgkitgen reads sqlc's configuration
// (the nearest sqlc.yaml, sqlc.yml or sqlc.json at or above the package)
// for the query files of the package, and indexes their -- name: lines.

// configNames are the files sqlc reads its configuration from by default.
var configNames = []string{"sqlc.yaml", "sqlc.yml", "sqlc.json"}

// sqlcConfig is what pgkitgen reads of sqlc's configuration (version 2,
// and version 1's packages). JSON is YAML, so one parser reads both.
type sqlcConfig struct {
	SQL []struct {
		Queries paths `yaml:"queries"`
		Gen     struct {
			Go struct {
				Out    string            `yaml:"out"`
				Rename map[string]string `yaml:"rename"`
			} `yaml:"go"`
		} `yaml:"gen"`
	} `yaml:"sql"`
	Packages []struct {
		Path    string `yaml:"path"`
		Queries paths  `yaml:"queries"`
	} `yaml:"packages"`
	Rename    map[string]string `yaml:"rename"`    // version 1's
	Overrides any               `yaml:"overrides"` // version 2's overrides.go.rename (a list in version 1)
}

// readConfig reads sqlc's configuration for the package in dir once, for
// where its queries are written (querySites) and its renames
// (sqlcRenames). Both are nil without a configuration: warnings then name
// Go files.
func readConfig(dir string) (map[string]querySite, map[string]string) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, nil
	}
	root, cfg := findConfig(abs)
	if cfg == nil {
		return nil, nil
	}
	return querySites(abs, root, cfg), sqlcRenames(abs, root, cfg)
}

// sqlcRenames returns sqlc's rename map (column or table name → Go name)
// for the package in abs, of the configuration cfg in root: the global
// one (version 1's rename, version 2's overrides.go.rename) and the
// package's gen.go.rename over it.
func sqlcRenames(abs, root string, cfg *sqlcConfig) map[string]string {
	out := map[string]string{}
	for k, v := range cfg.Rename {
		out[k] = v
	}
	if o, ok := cfg.Overrides.(map[any]any); ok {
		if g, ok := o["go"].(map[any]any); ok {
			if r, ok := g["rename"].(map[any]any); ok {
				for k, v := range r {
					ks, ok1 := k.(string)
					vs, ok2 := v.(string)
					if ok1 && ok2 {
						out[ks] = vs
					}
				}
			}
		}
	}
	for _, s := range cfg.SQL {
		if samePath(filepath.Join(root, s.Gen.Go.Out), abs) {
			for k, v := range s.Gen.Go.Rename {
				out[k] = v
			}
		}
	}
	return out
}

// paths is sqlc's queries: one path or a list of them.
type paths []string

func (p *paths) UnmarshalYAML(unmarshal func(any) error) error {
	var one string
	if err := unmarshal(&one); err == nil {
		*p = paths{one}
		return nil
	}
	var many []string
	if err := unmarshal(&many); err != nil {
		return err
	}
	*p = many
	return nil
}

// querySite is where a query is written: its file, the line of its
// -- name: comment, and its lines (that one first).
type querySite struct {
	file  string
	line  int
	lines []string
}

var nameLine = regexp.MustCompile(`^--\s*name:\s*(\w+)\s+:\w+`)

// querySites indexes the queries of the sqlc package in abs by name, from
// the query files the configuration cfg in root gives it.
func querySites(abs, root string, cfg *sqlcConfig) map[string]querySite {
	var queries []string
	for _, s := range cfg.SQL {
		if samePath(filepath.Join(root, s.Gen.Go.Out), abs) {
			queries = append(queries, s.Queries...)
		}
	}
	for _, p := range cfg.Packages {
		if samePath(filepath.Join(root, p.Path), abs) {
			queries = append(queries, p.Queries...)
		}
	}
	var files []string
	for _, q := range queries {
		path := filepath.Join(root, q)
		if fi, err := os.Stat(path); err == nil && fi.IsDir() {
			matches, _ := filepath.Glob(filepath.Join(path, "*.sql"))
			files = append(files, matches...)
		} else if err == nil {
			files = append(files, path)
		}
	}
	sort.Strings(files)
	sites := map[string]querySite{}
	for _, f := range files {
		indexQueries(f, sites)
	}
	return sites
}

// findConfig returns the directory of the nearest sqlc configuration at
// or above dir, and the configuration.
func findConfig(dir string) (string, *sqlcConfig) {
	for {
		for _, name := range configNames {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				continue
			}
			var cfg sqlcConfig
			if yaml.Unmarshal(b, &cfg) != nil {
				return "", nil
			}
			return dir, &cfg
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", nil
		}
		dir = parent
	}
}

func samePath(a, b string) bool { return filepath.Clean(a) == filepath.Clean(b) }

// indexQueries adds the queries of one file to sites. A file written by
// pgkitgen expand is followed back to its source (the file its header
// names): each of its queries is located where the source writes the
// public query it was expanded from (its -- pgkit:public line's, or its
// own name).
func indexQueries(file string, sites map[string]querySite) {
	b, err := os.ReadFile(file)
	if err != nil {
		return
	}
	if source := expandSourceOf(file, b); source != "" {
		indexExpanded(file, b, source, sites)
		return
	}
	for name, site := range scanQueries(file, b) {
		if _, dup := sites[name]; !dup {
			sites[name] = site
		}
	}
}

// indexExpanded adds the queries of the expanded file b, located in its
// source file, to sites.
func indexExpanded(file string, b []byte, source string, sites map[string]querySite) {
	src, err := os.ReadFile(source)
	if err != nil {
		src, source = b, file // the source is gone: name the expanded file
	}
	inSource := scanQueries(source, src)
	for name, site := range scanQueries("", b) {
		public := name
		for _, l := range site.lines[1:] {
			if m := publicLine.FindStringSubmatch(l); m != nil {
				public = m[1]
				break
			}
		}
		if at, ok := inSource[public]; ok {
			if _, dup := sites[name]; !dup {
				sites[name] = at
			}
		}
	}
}

var publicLine = regexp.MustCompile(`^--\s*pgkit:public\s+(\S+)`)

// scanQueries indexes the queries of one file's text b by name (the
// first of a name wins).
func scanQueries(file string, b []byte) map[string]querySite {
	sites := map[string]querySite{}
	var cur *querySite
	var name string
	flush := func() {
		if cur != nil {
			if _, dup := sites[name]; !dup {
				sites[name] = *cur
			}
		}
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, len(b)+1)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if m := nameLine.FindStringSubmatch(line); m != nil {
			flush()
			name, cur = m[1], &querySite{file: file, line: n}
		}
		if cur != nil {
			cur.lines = append(cur.lines, line)
		}
	}
	flush()
	return sites
}

// find returns the line of the first line of the query after its name
// that re matches, comment lines skipped, or the name's line.
func (s querySite) find(re *regexp.Regexp) int {
	for i, l := range s.lines[1:] {
		if re.MatchString(l) && !strings.HasPrefix(strings.TrimSpace(l), "--") {
			return s.line + 1 + i
		}
	}
	return s.line
}

// sourceOf returns where the query name (sqlc's, a hidden one included)
// is written, as file:line in the user's annotated source when the
// package's sqlc configuration leads there, else fallback.
func (p *pkg) sourceOf(name, fallback string) string {
	if site, ok := p.sites[name]; ok {
		return fmt.Sprintf("%s:%d", display(p.dir, site.file), site.line)
	}
	return fallback
}

// whereIs returns where the query of sqlc's method fd is written, for
// errors: sourceOf, else fd's file:line in sqlc's output.
func (p *pkg) whereIs(fd *ast.FuncDecl) string {
	pos := p.fset.Position(fd.Pos())
	return p.sourceOf(fd.Name.Name, fmt.Sprintf("%s:%d", filepath.Base(pos.Filename), pos.Line))
}

// display is path as the user would name it: relative to the directory
// pgkitgen was given (as -dir joined with it), or as it is.
func display(dir, path string) string {
	absDir, err1 := filepath.Abs(dir)
	absPath, err2 := filepath.Abs(path)
	if err1 != nil || err2 != nil {
		return path
	}
	rel, err := filepath.Rel(absDir, absPath)
	if err != nil {
		return path
	}
	return filepath.Join(dir, rel)
}
