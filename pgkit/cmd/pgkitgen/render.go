package main

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/format"
	"slices"
	"strings"
)

// names are the package-level names pgkitgen declares, and the names it
// imports iter and fmt under (aliased when the package declares iter or
// fmt, as sqlc does for queries named Iter or Fmt).
type names struct {
	store, streamer, streamQuery string
	batch, send                  string // the Batch type and its Send method (batchq.go)
	notFound                     string // the not-found error type of nest queries on :one
	iter, fmt, errors            string
	publicSQL                    map[string]string // a hidden query's name → its public statement's constant
}

// own rewrites the iter. and fmt. of one of pgkitgen's templates (never
// sqlc's text) to the names they are imported under.
func (n names) own(template string) string {
	return strings.NewReplacer("iter.", n.iter+".", "fmt.", n.fmt+".", "errors.", n.errors+".").Replace(template)
}

// free returns name, or the first of pgkit+name, pgkit+name+2, … that the
// package does not declare.
func free(taken map[string]bool, name string) string {
	if !taken[name] {
		return name
	}
	alias := "pgkit" + name
	for i := 2; taken[alias]; i++ {
		alias = fmt.Sprintf("pgkit%s%d", name, i)
	}
	return alias
}

// pickNames chooses names that sqlc's output does not declare.
func pickNames(p *pkg, o Options) (names, error) {
	var n names
	var err error
	if n.store, err = pickType(p.taken, o.Store, "Store", "PgkitStore", "-store"); err != nil {
		return n, err
	}
	if n.streamer, err = pickType(p.taken, o.Streamer, "Streamer", "PgkitStreamer", "-streamer"); err != nil {
		return n, err
	}
	if n.batch, err = pickType(p.taken, o.Batch, "Batch", "PgkitBatch", "-batch"); err != nil {
		return n, err
	}
	if n.store == n.streamer || n.batch == n.store || n.batch == n.streamer {
		return n, fmt.Errorf("-store, -streamer and -batch name two types %s, %s and %s", n.store, n.streamer, n.batch)
	}
	n.send = "Send"
	if p.methods["Send"] {
		n.send = "PgkitSend" // Batch's methods are named after the queries
	}
	n.streamQuery = numbered(p.taken, "pgkitStreamQuery")
	n.notFound = numbered(p.taken, "pgkitNotFound")
	n.iter, n.fmt, n.errors = free(p.taken, "iter"), free(p.taken, "fmt"), free(p.taken, "errors")
	n.publicSQL = map[string]string{}
	for _, h := range p.hidden {
		n.publicSQL[h.decl.Name.Name] = numbered(p.taken, h.decl.Name.Name+"SQL")
	}
	for _, q := range p.nests {
		n.publicSQL[q.decl.Name.Name] = numbered(p.taken, q.decl.Name.Name+"SQL")
	}
	return n, nil
}

// numbered returns name, or the first of name2, name3, … that the package
// does not declare.
func numbered(taken map[string]bool, name string) string {
	c := name
	for i := 2; taken[c]; i++ {
		c = fmt.Sprintf("%s%d", name, i)
	}
	return c
}

func pickType(taken map[string]bool, given, def, alt, flag string) (string, error) {
	if given != "" {
		if taken[given] {
			return "", fmt.Errorf("%s %s: the package already declares %s", flag, given, given)
		}
		return given, nil
	}
	if !taken[def] {
		return def, nil
	}
	if !taken[alt] {
		return alt, nil
	}
	return "", fmt.Errorf("the package declares both %s and %s: name pgkitgen's with %s", def, alt, flag)
}

// pickLocal returns the first of candidates that is not one of params.
func pickLocal(params []string, candidates ...string) string {
	for _, c := range candidates {
		if !slices.Contains(params, c) {
			return c
		}
	}
	return candidates[len(candidates)-1] + "_"
}

func render(p *pkg, o Options) ([]byte, error) {
	n, err := pickNames(p, o)
	if err != nil {
		return nil, err
	}
	// The methods pgkitgen adds must not be sqlc's.
	added := map[string]string{}
	claim := func(name, why string) error {
		if p.methods[name] {
			return fmt.Errorf("%s would declare Queries.%s, which sqlc already declares: rename that query", why, name)
		}
		if other, ok := added[name]; ok {
			return fmt.Errorf("%s and %s would both declare Queries.%s", other, why, name)
		}
		added[name] = why
		return nil
	}
	if !p.dbArg {
		if err := errors.Join(claim("DB", "DB()"), claim("RunInTx", "Store.RunInTx")); err != nil {
			return nil, err
		}
	}
	for _, s := range p.streams {
		if err := claim(s.decl.Name.Name+o.StreamSuffix, "the stream of :many query "+s.decl.Name.Name); err != nil {
			return nil, fmt.Errorf("%w (or pass -stream-suffix)", err)
		}
	}
	for _, s := range p.streams {
		if err := claim(s.decl.Name.Name+o.AppendSuffix, "the append method of :many query "+s.decl.Name.Name); err != nil {
			return nil, fmt.Errorf("%w (or pass -append-suffix)", err)
		}
	}
	for _, nq := range p.nests {
		if err := claim(nq.d.public, "the public method of hidden query "+nq.decl.Name.Name); err != nil {
			return nil, err
		}
		if nq.streams() {
			if err := claim(nq.d.public+o.StreamSuffix, "the stream of "+nq.d.public); err != nil {
				return nil, fmt.Errorf("%w (or pass -stream-suffix)", err)
			}
		}
	}
	for _, c := range p.copies {
		if err := claim(c.decl.Name.Name+o.SeqSuffix, "the Seq of :copyfrom query "+c.decl.Name.Name); err != nil {
			return nil, fmt.Errorf("%w (or pass -seq-suffix)", err)
		}
	}

	im := newImports()
	pubs, err := planPublic(p, im, claim, o)
	if err != nil {
		return nil, err
	}
	var body bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&body, n.own(format), args...) }
	t := func(x ast.Node) string { return text(p.fset, x) }

	if !p.dbArg {
		if err := renderStore(p, n, im, w, t, append(publicDecls(p, pubs, n, o, false), nestDecls(t, p.nests, o, false)...)); err != nil {
			return nil, err
		}
	}
	w("// %s has a …%s method for every :many query: the same rows,\n// yielded one at a time in constant memory instead of collected in a slice;\n// and for each of sqlc's a …%s method, its rows appended to a slice\n// the caller may reuse.\n", n.streamer, o.StreamSuffix, o.AppendSuffix)
	w("type %s interface {\n", n.streamer)
	for _, s := range p.streams {
		w("\t%s%s(%s) iter.Seq2[%s, error]\n", s.decl.Name.Name, o.StreamSuffix, fields(t, s.decl.Type.Params), t(s.elem))
		w("\t%s%s(%s) ([]%s, error)\n", s.decl.Name.Name, o.AppendSuffix, appendSig(t, s, pickAppendLocals(s).dst), t(s.elem))
	}
	publicStreams := append(publicDecls(p, pubs, n, o, true), nestDecls(t, p.nests, o, true)...)
	for _, d := range publicStreams {
		w("\t%s\n", d)
	}
	w("}\n\n")
	if len(p.streams)+len(publicStreams) > 0 {
		im.add("context", "context")
		im.add(n.iter, "iter")
		im.add("pgx", "github.com/jackc/pgx/v5")
		w(`// %[1]s runs a …%[2]s method's query. A DB that offers QueryStream
// (a multiplexing pgkit.DB, which otherwise reads results in full as they
// arrive) gives it a connection of its own, read row by row.
func %[1]s(ctx context.Context, db DBTX, sql string, args ...interface{}) (pgx.Rows, error) {
	if s, ok := db.(interface {
		QueryStream(context.Context, string, ...interface{}) (pgx.Rows, error)
	}); ok {
		return s.QueryStream(ctx, sql, args...)
	}
	return db.Query(ctx, sql, args...)
}

`, n.streamQuery, o.StreamSuffix)
	}
	for _, s := range p.streams {
		if err := im.uses(s.file, s.decl.Type.Params, s.elem, s.row.Type); err != nil {
			return nil, fmt.Errorf("%s: %w", s.decl.Name.Name, err)
		}
		renderStream(w, t, s, n, o)
		renderAppend(w, t, s, o)
	}
	if len(pubs) > 0 {
		usePublic(im, pubs, n)
		renderPublic(w, p, pubs, n, o)
	}
	if err := renderNests(p, p.nests, n, o, im, w, t); err != nil {
		return nil, err
	}
	for _, c := range p.copies {
		params := c.decl.Type.Params.List
		for _, f := range params[:len(params)-1] {
			if err := im.uses(c.file, f.Type); err != nil {
				return nil, fmt.Errorf("%s: %w", c.decl.Name.Name, err)
			}
		}
		if err := im.uses(c.file, c.elem); err != nil {
			return nil, fmt.Errorf("%s: %w", c.decl.Name.Name, err)
		}
		im.add(n.iter, "iter")
		im.add("pgx", "github.com/jackc/pgx/v5")
		tc := planCopy(p, c, free(p.taken, "pgkitCopy"+c.decl.Name.Name))
		if tc.nilCheck {
			im.add(n.fmt, "fmt")
		}
		renderCopy(w, t, c, tc, o)
	}
	if err := renderDecoders(p, im, w, t); err != nil {
		return nil, err
	}
	if qs := queuedQueries(p); len(qs) > 0 {
		im.add("context", "context")
		im.add(n.fmt, "fmt")
		im.add("pgx", "github.com/jackc/pgx/v5")
		for _, q := range qs {
			if err := im.uses(q.file, q.decl.Type.Params); err != nil {
				return nil, fmt.Errorf("%s: %w", q.decl.Name.Name, err)
			}
			if q.dst != nil {
				if err := im.uses(q.file, q.dst); err != nil {
					return nil, fmt.Errorf("%s: %w", q.decl.Name.Name, err)
				}
			}
			if q.kind == "execrows" || q.kind == "execresult" {
				im.add("pgconn", "github.com/jackc/pgx/v5/pgconn")
			}
		}
		renderBatch(w, t, p, qs, n.batch, n.send)
	}

	if im.err != nil {
		return nil, im.err
	}
	var b bytes.Buffer
	if p.build != "" {
		b.WriteString(p.build + "\n\n")
	}
	fmt.Fprintf(&b, "// Code generated by pgkitgen. DO NOT EDIT.\n// Source: the sqlc-generated files of this package.\n\npackage %s\n\n", p.name)
	b.WriteString(im.decl())
	b.Write(body.Bytes())
	out, err := format.Source(b.Bytes())
	if err != nil {
		return nil, errors.Join(errors.New("format generated code"), err)
	}
	return out, nil
}

// fields prints a parameter list without its parentheses.
func fields(t func(ast.Node) string, fl *ast.FieldList) string {
	var parts []string
	for _, f := range fl.List {
		parts = append(parts, field(t, f))
	}
	return strings.Join(parts, ", ")
}

// field prints one parameter: its names and type.
func field(t func(ast.Node) string, f *ast.Field) string {
	var ns []string
	for _, n := range f.Names {
		ns = append(ns, n.Name)
	}
	if len(ns) == 0 {
		return t(f.Type)
	}
	return strings.Join(ns, ", ") + " " + t(f.Type)
}

// renderStore writes Store, DB and RunInTx.
func renderStore(p *pkg, n names, im *imports, w func(string, ...any), t func(ast.Node) string, public []string) error {
	im.add("context", "context")
	im.add(n.fmt, "fmt")
	im.add("pgx", "github.com/jackc/pgx/v5")
	w(`// %[1]s is the queries plus streams and transactions, for code written
// against an interface that still needs a transaction. *Queries implements
// it; inside RunInTx, the %[1]s passed to fn runs in the transaction, and
// calling RunInTx on it again opens a savepoint.
type %[1]s interface {
`, n.store)
	// sqlc's Querier lists the hidden pgkit+X methods too, unexported, which
	// no type outside the package could implement: with hidden queries,
	// Store lists sqlc's exported methods itself and stays mockable.
	if p.querier && len(public) == 0 {
		w("\tQuerier\n")
	} else {
		for _, m := range p.queries {
			if err := im.uses(m.file, m.decl.Type); err != nil {
				return fmt.Errorf("%s: %w", m.decl.Name.Name, err)
			}
			w("\t%s%s\n", m.decl.Name.Name, strings.TrimPrefix(t(m.decl.Type), "func"))
		}
	}
	for _, d := range public {
		w("\t%s\n", d)
	}
	w(`	%[2]s
	// RunInTx runs fn in a transaction on what the Queries run on. On a
	// pgkit Source (pgkit.Open, pgkit.Wrap, a pgkit transaction) it is
	// pgkit.WithTx: retried on serialization failure and deadlock when
	// outermost, a savepoint when nested. On anything else with
	// Begin(ctx) (pgx.Tx, error), a pgx pool, connection or transaction,
	// it runs once: committed when fn returns nil and ctx is not done,
	// rolled back otherwise; errors are then pgx's, not pgkit's typed ones.
	RunInTx(ctx context.Context, fn func(%[1]s) error) error
}

var _ %[1]s = (*Queries)(nil)

// DB returns what q runs on: a pool, or inside a transaction that
// transaction. Hand it to pgkit.Pipeline or pgkit.Gather to run their
// queries in the same transaction.
func (q *Queries) DB() DBTX { return q.db }

// RunInTx runs fn in a transaction; see %[1]s.
func (q *Queries) RunInTx(ctx context.Context, fn func(%[1]s) error) error {
	switch db := q.db.(type) {
	case interface {
		RunInTx(context.Context, func(pgx.Tx) error) error
	}:
		return db.RunInTx(ctx, func(tx pgx.Tx) error { return fn(New(tx)) })
	case interface {
		Begin(context.Context) (pgx.Tx, error)
	}:
		tx, err := db.Begin(ctx)
		if err != nil {
			return fmt.Errorf("run in transaction: begin: %%w", err)
		}
		// Rolls back unless committed, also when fn panics.
		defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
		if err := fn(New(tx)); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil { // ctx ended in fn: rolled back, not committed
			return fmt.Errorf("run in transaction: rolled back: %%w", err)
		}
		if err := tx.Commit(ctx); err != nil {
			return fmt.Errorf("run in transaction: commit: %%w", err)
		}
		return nil
	}
	return fmt.Errorf("run in transaction: %%T cannot begin a transaction", q.db)
}

`, n.store, n.streamer)
	return nil
}

func renderStream(w func(string, ...any), t func(ast.Node) string, s stream, n names, o Options) {
	yield := pickLocal(s.reserved(), "yield", "yieldRow")
	zero := pickLocal(s.reserved(), "zero", "zeroRow")
	args := []string{t(s.call.Args[0]), t(s.db)}
	for _, a := range s.call.Args[1:] {
		args = append(args, t(a))
	}
	call := n.streamQuery + "(" + strings.Join(args, ", ")
	if s.call.Ellipsis.IsValid() {
		call += "..."
	}
	call += ")"
	name := s.decl.Name.Name
	// A row yielded by value is a copy of the one row variable, scanned
	// through one Scan list made before the loop (see renderAppend).
	loop := "\t\tfor rows.Next() {\n\t\t\tvar i " + t(s.row.Type) + "\n"
	scan := t(s.scan)
	if hoists(t, s) {
		l := pickAppendLocals(s)
		// The closure's block is not the parameters': its i may shadow one.
		loop = "\t\tvar i, " + l.blank + " " + t(s.row.Type) + "\n\t\t" + l.dest + " := " + scanList(t, s, "i") +
			"\n\t\tfor rows.Next() {\n\t\t\ti = " + l.blank + "\n"
		scan = "rows.Scan(" + l.dest + "...)"
	}
	w(`// %[1]s%[2]s yields %[1]s's rows one at a time,
// scanned exactly as %[1]s scans them. Memory stays flat whatever the
// number of rows. Breaking out of the loop closes the rows: pgx reads and
// drops the rest of the result, then a pooled connection goes back (to
// stop a long query on the server instead, cancel ctx). An error ends the
// sequence.
func (q *Queries) %[1]s%[2]s(%[3]s) iter.Seq2[%[4]s, error] {
	return func(%[5]s func(%[4]s, error) bool) {
		var %[6]s %[4]s
		rows, err := %[7]s
		if err != nil {
			%[5]s(%[6]s, err)
			return
		}
		defer rows.Close()
%[8]s			if err := %[9]s; err != nil {
				%[5]s(%[6]s, err)
				return
			}
			if !%[5]s(%[10]s, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			%[5]s(%[6]s, err)
		}
	}
}

`, name, o.StreamSuffix, fields(t, s.decl.Type.Params), t(s.elem), yield, zero, call, loop, scan, t(s.item))
}

// renderSeq writes c's …Seq method: the COPY of sqlc's method, its rows
// pulled from seq through c's typed source.
func renderSeq(w func(string, ...any), t func(ast.Node) string, c copySeq, tc typedCopy, o Options) {
	params := c.decl.Type.Params.List
	var head []string
	for _, f := range params[:len(params)-1] {
		head = append(head, field(t, f))
	}
	ctx := "ctx"
	if len(params) > 0 && len(params[0].Names) > 0 {
		ctx = params[0].Names[0].Name
	}
	name := c.decl.Name.Name
	w(`// %[1]s%[2]s is %[1]s fed from seq:
// the same COPY, each row encoded as it comes, so a source of any size
// loads in constant memory.
func (q *Queries) %[1]s%[2]s(%[3]s, seq iter.Seq[%[4]s]) (int64, error) {
	src := &%[9]s{seq: seq}
	defer src.close()
	return %[5]s.CopyFrom(%[6]s, %[7]s, %[8]s, src)
}

`, name, o.SeqSuffix, strings.Join(head, ", "), t(c.elem), t(c.db), ctx, t(c.table), t(c.columns), tc.source)
}
