package pgkittest_test

import (
	"context"
	"fmt"
	"testing/fstest"

	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// A fresh database per test, migrated with your goose migrations: in a
// test, pass its *testing.T instead of an ExampleTB.
func ExampleNew() {
	tb := &pgkittest.ExampleTB{}
	defer tb.Done()
	migrations := fstest.MapFS{
		"00001_notes.sql": {Data: []byte("-- +goose Up\nCREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL);\n-- +goose Down\nDROP TABLE notes;\n")},
	}
	d := pgkittest.New(tb, migrations)
	ctx := context.Background()
	_, err := d.Exec(ctx, "INSERT INTO notes VALUES (1, 'hello')")
	var body string
	if err == nil {
		err = d.QueryRow(ctx, "SELECT body FROM notes WHERE id = 1").Scan(&body)
	}
	fmt.Println(body, err)
	// Output: hello <nil>
}
