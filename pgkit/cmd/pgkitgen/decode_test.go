package main

import (
	"strings"
	"testing"
)

// decodeSrc is sqlc's output of a :many and a :one run from named
// statements, and a :many run from a literal.
const decodeSrc = sqlcHead + `import "context"

const listIDs = ` + "`-- name: ListIDs :many\nSELECT 1`" + `

const getName = ` + "`-- name: GetName :one\nSELECT 'x'`" + `

func (q *Queries) ListIDs(ctx context.Context) ([]int64, error) {
	rows, err := q.db.Query(ctx, listIDs)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var items []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		items = append(items, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return items, nil
}

func (q *Queries) GetName(ctx context.Context) (string, error) {
	row := q.db.QueryRow(ctx, getName)
	var name string
	err := row.Scan(&name)
	return name, err
}
` + "\n" + `func (q *Queries) ListLiteral(ctx context.Context) ([]int64, error) {
	rows, err := q.db.Query(ctx, "SELECT 2")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var items []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		items = append(items, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return items, nil
}
`

// TestGenerateDecoders: the :many and the :one run from named statements
// get their Scan destinations under their query names, in sqlc's own
// types; a statement without a name line gets none; the function is
// PgkitDecoders where the package declares Decoders; the generated file
// imports nothing of pgkit.
func TestGenerateDecoders(t *testing.T) {
	dir := writePkg(t, map[string]string{"db.go": sqlcDB, "q.sql.go": decodeSrc})
	out, err := Generate(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	src := string(out)
	for _, want := range []string{
		"func Decoders() map[string][]interface{} {",
		`"GetName": func() []interface{} { var name string; return []interface{}{&name} }(),`,
		`"ListIDs": func() []interface{} { var i int64; return []interface{}{&i} }(),`,
	} {
		if !strings.Contains(src, want) {
			t.Errorf("no %s in:\n%s", want, src)
		}
	}
	if strings.Contains(src, "ListLiteral\":") || strings.Contains(src, "shopdb/pgkit") {
		t.Errorf("a decoder for a statement without a name, or an import of pgkit:\n%s", src)
	}
	dir = writePkg(t, map[string]string{"db.go": sqlcDB, "q.sql.go": decodeSrc, "mine.go": "package x\n\nfunc Decoders() {}\n"})
	out, err = Generate(dir, Options{})
	if err != nil || !strings.Contains(string(out), "func PgkitDecoders() map[string][]interface{} {") {
		t.Fatalf("with Decoders taken: %v\n%s", err, out)
	}
	// No :one or :many: Decoders is still there (nil), so that a program
	// passing it compiles whatever queries the package has.
	dir = writePkg(t, map[string]string{"db.go": sqlcDB})
	out, err = Generate(dir, Options{})
	if err != nil || !strings.Contains(string(out), "func Decoders() map[string][]interface{} { return nil }") {
		t.Fatalf("with no :one or :many: %v\n%s", err, out)
	}
}
