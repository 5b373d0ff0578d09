package main

import (
	"strings"
	"testing"
)

// hiddenBatch is sqlc's :batchone (or with many :batchmany) hidden query
// pgkitX scanning twoEmbeds' row, doc its pgkit: lines; with dbArg its
// method takes the DB (emit_methods_with_db_argument).
func hiddenBatch(doc string, many, dbArg bool) string {
	var d strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(doc), "\n") {
		d.WriteString("// " + strings.TrimSpace(l) + "\n")
	}
	params, db := "ctx context.Context, id []int64", "q.db"
	if dbArg {
		params, db = "ctx context.Context, db DBTX, id []int64", "db"
	}
	read := `func (b *pgkitXBatchResults) QueryRow(f func(int, pgkitXRow, error)) {
	defer b.br.Close()
	for t := 0; t < b.tot; t++ {
		var i pgkitXRow
		if b.closed {
			if f != nil {
				f(t, i, ErrBatchAlreadyClosed)
			}
			continue
		}
		row := b.br.QueryRow()
		err := row.Scan(` + twoEmbedsScan + `)
		if f != nil {
			f(t, i, err)
		}
	}
}
`
	if many {
		read = `func (b *pgkitXBatchResults) Query(f func(int, []pgkitXRow, error)) {
	defer b.br.Close()
	for t := 0; t < b.tot; t++ {
		var items []pgkitXRow
		if b.closed {
			if f != nil {
				f(t, items, ErrBatchAlreadyClosed)
			}
			continue
		}
		err := func() error {
			rows, err := b.br.Query()
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var i pgkitXRow
				if err := rows.Scan(` + twoEmbedsScan + `); err != nil {
					return err
				}
				items = append(items, i)
			}
			return rows.Err()
		}()
		if f != nil {
			f(t, items, err)
		}
	}
}
`
	}
	return sqlcHead + `import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
)

var ErrBatchAlreadyClosed = errors.New("batch already closed")
` + publishModels + twoEmbeds + `
const pgkitX = ` + "`-- name: pgkitX :batchone\nSELECT 1\n`" + `

type pgkitXBatchResults struct {
	br     pgx.BatchResults
	tot    int
	closed bool
}

` + d.String() + `func (q *Queries) pgkitX(` + params + `) *pgkitXBatchResults {
	batch := &pgx.Batch{}
	for _, a := range id {
		vals := []interface{}{
			a,
		}
		batch.Queue(pgkitX, vals...)
	}
	br := ` + db + `.SendBatch(ctx, batch)
	return &pgkitXBatchResults{br, len(id), false}
}

` + read + `
func (b *pgkitXBatchResults) Close() error {
	b.closed = true
	return b.br.Close()
}
`
}

const batchEmbeds = "pgkit:public X\npgkit:embed a notnull\npgkit:embed b nullable"

// batchDB is sqlcDB of a package with batches (DBTX has SendBatch), and
// dbArgDB the same under emit_methods_with_db_argument.
var (
	batchDB = strings.Replace(sqlcDB, "\tQueryRow(context.Context, string, ...interface{}) pgx.Row\n", "\tQueryRow(context.Context, string, ...interface{}) pgx.Row\n\tSendBatch(context.Context, *pgx.Batch) pgx.BatchResults\n", 1)
	dbArgDB = strings.Replace(batchDB, "func New(db DBTX) *Queries { return &Queries{db: db} }\n\ntype Queries struct{ db DBTX }", "func New() *Queries { return &Queries{} }\n\ntype Queries struct{}", 1)
)

// TestPublishBatch: a hidden batch's public X and XBatchResults, its
// statement named X, the nullable embed scanned into temporaries, Store
// listing X; with emit_methods_with_db_argument X takes the DB as sqlc's.
func TestPublishBatch(t *testing.T) {
	for _, c := range []struct {
		name      string
		many, arg bool
		wants     []string
	}{
		{"batchone", false, false, []string{
			"\tX(ctx context.Context, id []int64) *XBatchResults\n", // in Store
			"const pgkitXSQL = `-- name: X :batchone\nSELECT 1\n`",
			"func (q *Queries) X(ctx context.Context, id []int64) *XBatchResults {",
			"batch.Queue(pgkitXSQL, vals...)",
			"return &XBatchResults{br, len(id), false}",
			"func (b *XBatchResults) QueryRow(f func(int, XRow, error)) {",
			"var bookID *int64",
			"if err == nil {\n\t\t\tif bookID != nil || bookTitle != nil {\n\t\t\t\ti.Book = &Book{ID: pgkitValue(bookID), Title: pgkitValue(bookTitle)}",
			"type XRow struct {\n\tAuthor Author\n\tBook   *Book\n}",
		}},
		{"batchmany", true, false, []string{
			"func (b *XBatchResults) Query(f func(int, []XRow, error)) {",
			"\t\t\t\tif bookID != nil || bookTitle != nil {",
			"\t\t\t\titems = append(items, i)",
		}},
		{"db argument", true, true, []string{
			"func (q *Queries) X(ctx context.Context, db DBTX, id []int64) *XBatchResults {",
			"br := db.SendBatch(ctx, batch)",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			db := batchDB
			if c.arg {
				db = dbArgDB
			}
			dir := writePkg(t, map[string]string{"db.go": db, "batch.go": hiddenBatch(batchEmbeds, c.many, c.arg)})
			out, err := Generate(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range c.wants {
				if !strings.Contains(string(out), want) {
					t.Errorf("generated file lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(string(out), "pgkitXBatchResults") {
				t.Errorf("generated file uses sqlc's hidden pgkitXBatchResults:\n%s", out)
			}
		})
	}
}

// TestPublishBatchErrors: what a batch cannot publish is an error naming
// the hidden and the public query.
func TestPublishBatchErrors(t *testing.T) {
	for _, c := range []struct{ name, src, want string }{
		{"opt", hiddenBatch(batchEmbeds+"\npgkit:opt", false, false), "query pgkitX (public X): pgkit:opt on a batch query"},
		{"sort", hiddenBatch(batchEmbeds+"\npgkit:sort a default", true, false), "query pgkitX (public X): pgkit:sort on a batch query"},
		{"batchexec", strings.Replace(hiddenBatch(batchEmbeds, false, false), "func (b *pgkitXBatchResults) QueryRow(", "func (b *pgkitXBatchResults) Exec(", 1), "no Query or QueryRow method of pgkitXBatchResults"},
		{"embed count", hiddenBatch("pgkit:public X\npgkit:embed a nullable", true, false), "1 pgkit:embed lines, but sqlc's row has 2 embeds"},
		{"name collision", hiddenBatch(batchEmbeds, true, false) + "\ntype XBatchResults struct{}\n", "would declare XBatchResults, which the package already declares"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := writePkg(t, map[string]string{"db.go": batchDB, "batch.go": c.src})
			_, err := Generate(dir, Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Generate: %v, want an error saying %q", err, c.want)
			}
		})
	}
}
