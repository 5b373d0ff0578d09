package main

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/shopdb/shopdb/pgkit/internal/sqllex"
)

// Splitting an annotated query file into queries, as sqlc does: a query
// starts at a `-- name: X :cmd` line comment and runs to the next one. The
// comment lines right after the name line are the query's head: sqlc
// copies them into the method's doc comment, and pgkit's annotations
// (`-- pgkit:verb args`) are among them. The text is lexed first, so that
// a `-- name:` inside a string, a dollar quote or a block comment starts
// nothing.

// tok is a token of a query file with where it is.
type tok struct {
	sqllex.Token
	off  int // byte offset in the file
	line int // 1-based line of its first byte
}

// end is the offset just past t.
func (t tok) end() int { return t.off + len(t.Text) }

// is reports whether t is the operator or punctuation op.
func (t tok) is(op string) bool { return t.Kind == sqllex.Operator && t.Text == op }

// kw reports whether t is the unquoted keyword kw (lower case).
func (t tok) kw(kw string) bool { return t.IsKeyword(kw) }

// headLine is a comment line of a query's head.
type headLine struct {
	text  string // the comment, from -- on
	line  int
	start int // offset of the line's start (after the previous newline)
	end   int // offset of the comment's end
}

// annotation is one `-- pgkit:verb args` line.
type annotation struct {
	verb string
	args []string
	line int
}

// srcQuery is one query of an annotated file.
type srcQuery struct {
	file     string // the file as it is named in errors
	name     string // X of -- name: X :cmd
	cmd      string // cmd, without its colon
	nameTok  tok    // the -- name: comment
	nameIdx  [4]int // byte offsets in nameTok.Text of the name and the cmd
	head     []headLine
	anns     []annotation
	bodyFrom int // offset where the head ends (the newline after its last line)
	to       int // offset where the query ends (the next -- name: line's start)
	code     []tok
}

// errorf is an error at line of q, naming the file and the query.
func (q *srcQuery) errorf(line int, format string, args ...any) error {
	return fmt.Errorf("%s:%d: query %s: %s", q.file, line, q.name, fmt.Sprintf(format, args...))
}

var (
	nameComment  = regexp.MustCompile(`^--\s*name:\s*(\S+)\s+:(\S+)`)
	pgkitLine    = regexp.MustCompile(`^--\s*pgkit:`)
	pgkitAnyCase = regexp.MustCompile(`^--\s*(?i:pgkit):`)
	annLine      = regexp.MustCompile(`^--\s*pgkit:(\S*)\s*(.*?)\s*$`)
)

// annotationVerbs are the verbs of the annotations a source may carry.
var annotationVerbs = []string{"optional", "sort", "nullable", "notnull", "nest", "json"}

// sqlcCommands are the commands sqlc knows, plus pgkit's opt.
var sqlcCommands = map[string]bool{
	"one": true, "many": true, "exec": true, "execrows": true, "execresult": true, "execlastid": true,
	"batchexec": true, "batchmany": true, "batchone": true, "copyfrom": true, "opt": true,
}

// lexFile lexes src, with offsets and lines. file names it in errors.
func lexFile(src string) []tok {
	raw := sqllex.Lex(src)
	toks := make([]tok, len(raw))
	off, line := 0, 1
	for i, t := range raw {
		toks[i] = tok{Token: t, off: off, line: line}
		off += len(t.Text)
		line += strings.Count(t.Text, "\n")
	}
	return toks
}

// atLineStart reports whether only spaces or tabs precede offset off on
// its line.
func atLineStart(src string, off int) bool {
	for i := off - 1; i >= 0; i-- {
		switch src[i] {
		case '\n', '\r':
			return true
		case ' ', '\t':
		default:
			return false
		}
	}
	return true
}

// splitQueries returns the queries of src, the text before the first of
// them, or an error naming file:line.
func splitQueries(file, src string) ([]*srcQuery, error) {
	toks := lexFile(src)
	var qs []*srcQuery
	for i, t := range toks {
		if t.Unterminated {
			where := fmt.Sprintf("%s:%d: ", file, t.line)
			if len(qs) > 0 {
				where += "query " + qs[len(qs)-1].name + ": "
			}
			return nil, fmt.Errorf("%sunterminated %s: the file ends inside it", where, kindName(t.Kind))
		}
		if t.Kind != sqllex.LineComment {
			continue
		}
		if m := nameComment.FindStringSubmatchIndex(t.Text); m != nil && atLineStart(src, t.off) {
			q := &srcQuery{file: file, name: t.Text[m[2]:m[3]], cmd: t.Text[m[4]:m[5]], nameTok: t, nameIdx: [4]int{m[2], m[3], m[4], m[5]}, to: len(src)}
			if len(qs) > 0 {
				qs[len(qs)-1].to = lineStartOf(src, t.off)
			}
			if !sqlcCommands[q.cmd] {
				return nil, q.errorf(t.line, "unknown command :%s (sqlc's :one :many :exec :execrows :execresult :execlastid :batchexec :batchmany :batchone :copyfrom, or pgkit's :opt)", q.cmd)
			}
			if strings.HasPrefix(strings.ToLower(q.name), "pgkit") {
				return nil, q.errorf(t.line, "names starting with pgkit are pgkitgen's (its hidden queries): rename the query")
			}
			qs = append(qs, q)
			readHead(src, toks, i, q)
			continue
		}
		if m := pgkitAnyCase.FindString(t.Text); m != "" && !pgkitLine.MatchString(t.Text) {
			where := fmt.Sprintf("%s:%d: ", file, t.line)
			if len(qs) > 0 {
				where += "query " + qs[len(qs)-1].name + ": "
			}
			return nil, fmt.Errorf("%s%q: annotations are lower case: write -- pgkit:", where, strings.TrimSpace(m))
		}
		if pgkitLine.MatchString(t.Text) {
			if len(qs) == 0 {
				return nil, fmt.Errorf("%s:%d: %s before any -- name: line: annotations go right after a query's -- name: line", file, t.line, strings.TrimSpace(t.Text))
			}
			q := qs[len(qs)-1]
			if t.off >= q.bodyFrom {
				return nil, q.errorf(t.line, "%s inside the query's SQL: annotations go in the comment lines right after -- name:", strings.TrimSpace(t.Text))
			}
		}
	}
	for _, q := range qs {
		q.code = codeOf(toks, q.bodyFrom, q.to)
		if err := q.parseAnnotations(); err != nil {
			return nil, err
		}
	}
	return qs, nil
}

// lineStartOf returns the offset of the start of the line holding off.
func lineStartOf(src string, off int) int {
	for off > 0 && src[off-1] != '\n' && src[off-1] != '\r' {
		off--
	}
	return off
}

// readHead reads the comment lines right after the name comment toks[i].
func readHead(src string, toks []tok, i int, q *srcQuery) {
	q.bodyFrom = toks[i].end()
	for j := i + 1; j+1 < len(toks); j += 2 {
		sp, c := toks[j], toks[j+1]
		if sp.Kind != sqllex.Space || c.Kind != sqllex.LineComment || strings.Count(sp.Text, "\n") != 1 || strings.Trim(sp.Text, " \t\r\n") != "" {
			return
		}
		if nameComment.MatchString(c.Text) {
			return
		}
		q.head = append(q.head, headLine{text: c.Text, line: c.line, start: sp.off, end: c.end()})
		q.bodyFrom = c.end()
	}
}

// codeOf returns the code tokens (no spaces, no comments) in [from, to).
// toks is in file order: the first token at from is found by binary
// search, so that the queries of a file cost linear time in all.
func codeOf(toks []tok, from, to int) []tok {
	var code []tok
	start := sort.Search(len(toks), func(i int) bool { return toks[i].off >= from })
	i := start
	for ; i < len(toks) && toks[i].off < to; i++ {
		t := toks[i]
		if t.Kind == sqllex.Space || t.Kind == sqllex.LineComment || t.Kind == sqllex.BlockComment {
			continue
		}
		code = append(code, t)
	}
	codeOfVisits.Add(int64(i - start))
	return code
}

// codeOfVisits counts the tokens codeOf has looked at, for the test that
// expand stays linear in the size of a file without timing it.
var codeOfVisits atomic.Int64

// parseAnnotations reads the pgkit: lines of q's head.
func (q *srcQuery) parseAnnotations() error {
	for _, h := range q.head {
		if !pgkitLine.MatchString(h.text) {
			continue
		}
		m := annLine.FindStringSubmatch(h.text)
		a := annotation{verb: m[1], line: h.line}
		if m[2] != "" {
			a.args = strings.Fields(m[2])
		}
		if a.verb == "sort" && len(a.args) > 0 {
			// sort NAME LIST: the list is SQL, kept as written.
			rest := strings.TrimSpace(m[2][len(a.args[0]):])
			a.args = []string{a.args[0]}
			if rest != "" {
				a.args = append(a.args, rest)
			}
		}
		switch a.verb {
		case "optional", "nullable", "notnull":
			if len(a.args) == 0 {
				what := "embed or column"
				if a.verb == "optional" {
					what = "parameter"
				}
				return q.errorf(a.line, "pgkit:%s names no %s", a.verb, what)
			}
		case "sort":
			if len(a.args) != 2 {
				return q.errorf(a.line, "pgkit:sort wants a name and an ORDER BY list: -- pgkit:sort newest created_at DESC, id DESC")
			}
		case "nest":
			if len(a.args) < 1 || len(a.args) > 2 {
				return q.errorf(a.line, "pgkit:nest wants an embed's argument and optionally a field name: -- pgkit:nest reviews Reviews")
			}
		case "json":
			if len(a.args) != 2 {
				return q.errorf(a.line, "pgkit:json wants a result column and a Go type of the package: -- pgkit:json reviews Review")
			}
		default:
			return q.errorf(a.line, "unknown annotation pgkit:%s (pgkit:%s)", a.verb, strings.Join(annotationVerbs, ", pgkit:"))
		}
		q.anns = append(q.anns, a)
	}
	return nil
}

// statement returns q's code tokens up to its first top-level semicolon,
// or an error when more follows it.
func (q *srcQuery) statement() ([]tok, error) {
	for i, t := range q.code {
		if t.is(";") {
			if i+1 < len(q.code) {
				return nil, q.errorf(q.code[i+1].line, "more than one statement after -- name: %s", q.name)
			}
			return q.code[:i], nil
		}
	}
	return q.code, nil
}

// kindName names a token kind in errors.
func kindName(k sqllex.Kind) string {
	switch k {
	case sqllex.String:
		return "string constant"
	case sqllex.DollarString:
		return "dollar-quoted string"
	case sqllex.QuotedIdent:
		return "quoted identifier"
	case sqllex.BlockComment:
		return "block comment"
	}
	return "token"
}
