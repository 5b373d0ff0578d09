package main

import (
	"strings"
	"testing"
)

// hiddenOne is a :one hidden query as sqlc writes it, with doc its pgkit:
// lines (one a line, without the //), scanning into var i row.
func hiddenOne(name, doc, row, scan string) string {
	var d strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(doc), "\n") {
		d.WriteString("// " + strings.TrimSpace(l) + "\n")
	}
	return `
const ` + name + " = `-- name: " + name + " :one\nSELECT 1\n`" + `

` + d.String() + `func (q *Queries) ` + name + `(ctx context.Context, id int64) (` + row + `, error) {
	row := q.db.QueryRow(ctx, ` + name + `, id)
	var i ` + row + `
	err := row.Scan(` + scan + `)
	return i, err
}
`
}

const publishModels = `
type Author struct {
	ID   int64
	Name string
}

type Book struct {
	ID    int64
	Title string
}
`

// publishErr generates a package of sqlc's db.go, the models and src,
// and returns the error, failing the test when there is none or it lacks
// one of wants.
func publishErr(t *testing.T, src string, wants ...string) {
	t.Helper()
	q := sqlcHead + "import (\n\t\"context\"\n\n\t\"github.com/jackc/pgx/v5/pgtype\"\n)\n\nvar _ pgtype.Text\n" + publishModels + src
	dir := writePkg(t, map[string]string{"db.go": sqlcDB, "q.sql.go": q})
	_, err := Generate(dir, Options{})
	if err == nil {
		t.Fatalf("Generate: no error, want one saying %q", wants)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Generate: %v\nwant it to say %q", err, w)
		}
	}
}

const twoEmbeds = `
type pgkitXRow struct {
	Author Author
	Book   Book
}
`

const twoEmbedsScan = "&i.Author.ID, &i.Author.Name, &i.Book.ID, &i.Book.Title"

func TestPublishMissingVariant(t *testing.T) {
	src := hiddenOne("pgkitXSortA", "pgkit:public X\npgkit:sort a default", "Author", "&i.ID, &i.Name") +
		hiddenOne("pgkitXSortB", "pgkit:public X", "Author", "&i.ID, &i.Name")
	publishErr(t, src, "pgkitXSortB", "2 queries publish X", "no pgkit:sort line")
	src = hiddenOne("pgkitXSortA", "pgkit:public X\npgkit:sort a", "Author", "&i.ID, &i.Name") +
		hiddenOne("pgkitXSortB", "pgkit:public X\npgkit:sort b", "Author", "&i.ID, &i.Name")
	publishErr(t, src, "sort set X has 0 variants marked default")
	src = hiddenOne("pgkitXSortA", "pgkit:public X\npgkit:sort a default", "Author", "&i.ID, &i.Name") +
		hiddenOne("pgkitXSortA2", "pgkit:public X\npgkit:sort a", "Author", "&i.ID, &i.Name")
	publishErr(t, src, "sort a is declared twice")
}

func TestPublishMismatchedVariants(t *testing.T) {
	src := `
type pgkitXSortARow struct {
	ID int64
}

type pgkitXSortBRow struct {
	ID   int64
	Name string
}
` + hiddenOne("pgkitXSortA", "pgkit:public X\npgkit:sort a default", "pgkitXSortARow", "&i.ID") +
		hiddenOne("pgkitXSortB", "pgkit:public X\npgkit:sort b", "pgkitXSortBRow", "&i.ID, &i.Name")
	publishErr(t, src, "query pgkitXSortB (public X)", "the sort variants of X differ in their Row fields", "pgkitXSortA has")
	src = hiddenOne("pgkitXSortA", "pgkit:public X\npgkit:sort a default", "Author", "&i.ID, &i.Name") +
		hiddenOne("pgkitXSortB", "pgkit:public X\npgkit:sort b", "Book", "&i.ID, &i.Title")
	publishErr(t, src, "differ in their row type", "pgkitXSortB has Book", "pgkitXSortA has Author")
}

func TestPublishUnknownColumn(t *testing.T) {
	src := `
type pgkitXRow struct {
	LastSeen pgtype.Timestamptz
	Total    int64
}
` + hiddenOne("pgkitX", "pgkit:public X\npgkit:column last_written nullable", "pgkitXRow", "&i.LastSeen, &i.Total")
	publishErr(t, src, "query pgkitX (public X)", "pgkit:nullable last_written", "the row has no field for column last_written", "its fields: LastSeen, Total")
	// A column is found with underscores dropped, case-insensitively; an
	// embed's field is no column.
	src = twoEmbeds + hiddenOne("pgkitX", "pgkit:public X\npgkit:column author notnull", "pgkitXRow", twoEmbedsScan)
	publishErr(t, src, "pgkit:notnull author", "only embeds (Author, Book)")
	src = `
type pgkitXRow struct {
	Amount pgtype.Numeric
}
` + hiddenOne("pgkitX", "pgkit:public X\npgkit:column amount notnull", "pgkitXRow", "&i.Amount")
	publishErr(t, src, "pgkit:notnull amount (field Amount)", "pgtype.Numeric has no obvious Go value type")
}

func TestPublishEmbedCountMismatch(t *testing.T) {
	src := twoEmbeds + hiddenOne("pgkitX", "pgkit:public X\npgkit:embed books nullable", "pgkitXRow", twoEmbedsScan)
	publishErr(t, src, "query pgkitX (public X)", "1 pgkit:embed lines, but sqlc's row has 2 embeds (Author, Book)")
	src = hiddenOne("pgkitX", "pgkit:public X\npgkit:embed authors nullable", "Author", "&i.ID, &i.Name")
	publishErr(t, src, "the row is the model Author, which has no embeds")
}

func TestPublishNameCollision(t *testing.T) {
	other := "\nfunc (q *Queries) X(ctx context.Context) error { return nil }\n"
	src := hiddenOne("pgkitX", "pgkit:public X\npgkit:opt", "Author", "&i.ID, &i.Name") + other
	publishErr(t, src, "public query X (from pgkitX", "would declare Queries.X, which sqlc already declares")
	src = twoEmbeds + "\ntype XRow struct{}\n" + hiddenOne("pgkitX", "pgkit:public X\npgkit:embed a notnull\npgkit:embed b nullable", "pgkitXRow", twoEmbedsScan)
	publishErr(t, src, "public query X (from pgkitX", "would declare XRow, which the package already declares")
	src = "\ntype XSortA struct{}\n" + hiddenOne("pgkitXSortA", "pgkit:public X\npgkit:sort a default", "Author", "&i.ID, &i.Name") +
		hiddenOne("pgkitXSortB", "pgkit:public X\npgkit:sort b", "Author", "&i.ID, &i.Name")
	publishErr(t, src, "would declare XSortA")
}

func TestPublishBadLines(t *testing.T) {
	src := hiddenOne("pgkitX", "pgkit:public X\npgkit:frobnicate y", "Author", "&i.ID, &i.Name")
	publishErr(t, src, "query pgkitX", "unknown verb pgkit:frobnicate")
	src = hiddenOne("pgkitX", "pgkit:public X\npgkit:embed a maybe", "Author", "&i.ID, &i.Name")
	publishErr(t, src, "want nullable or notnull, not maybe")
	src = hiddenOne("pgkitX", "pgkit:public x", "Author", "&i.ID, &i.Name")
	publishErr(t, src, "pgkit:public x is not an exported Go name")
	src = hiddenOne("pgkitX", "pgkit:public X\npgkit:source queries/x.sql:12\npgkit:opt extra", "Author", "&i.ID, &i.Name")
	publishErr(t, src, "queries/x.sql:12: query pgkitX", "want 0 to 0 arguments")
}

// TestPublishOpt: the public method of a hidden :opt query, its statement
// renamed for pgkit's errors, and Store listing it.
func TestPublishOpt(t *testing.T) {
	// Stage 1's header comes first: sqlc gives it to the file's first query.
	doc := "Code generated by pgkitgen expand from queries/x.sql. DO NOT EDIT.\npgkit:public X\npgkit:opt\nX finds an author."
	q := sqlcHead + "import \"context\"\n" + publishModels + hiddenOne("pgkitX", doc, "Author", "&i.ID, &i.Name")
	dir := writePkg(t, map[string]string{"db.go": sqlcDB, "q.sql.go": q})
	out, err := Generate(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"\tX(ctx context.Context, id int64) (Author, bool, error)\n", // in Store
		"\n// X finds an author.\nfunc (q *Queries) X(ctx context.Context, id int64) (Author, bool, error) {",
		"const pgkitXSQL = `-- name: X :opt\nSELECT 1\n`",
		"if errors.Is(err, pgx.ErrNoRows) {\n\t\t\treturn zero, false, nil",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("generated file lacks %q:\n%s", want, out)
		}
	}
}

// TestPublishWarningsNameTheSource: a warning about a hidden query names
// its public query and, given pgkit:source, the user's file and line.
func TestPublishWarningsNameTheSource(t *testing.T) {
	src := strings.Replace(hiddenOne("pgkitX", "pgkit:public X\npgkit:source queries/users.sql:7\npgkit:opt", "Author", "&i.ID, &i.Name"), "id int64", "id interface{}", 1)
	dir := writePkg(t, map[string]string{"db.go": sqlcDB, "q.sql.go": sqlcHead + "import \"context\"\n" + publishModels + src})
	_, warns, err := generate(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 1 || !strings.HasPrefix(warns[0], "queries/users.sql:7: warning: X (pgkitX): parameter") {
		t.Fatalf("warnings %q, want one at queries/users.sql:7 naming X", warns)
	}
}
