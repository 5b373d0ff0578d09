package main

import (
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/shopdb/shopdb/internal/testshop"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
	"github.com/shopdb/shopdb/schema"
)

var (
	loadedRE = regexp.MustCompile(`loaded (\d+) rows .*; (\d+) bad rows skipped`)
	badRE    = regexp.MustCompile(`(?m)^stdin:(\d+): `)
)

// FuzzLoadUsers loads arbitrary CSV after a users header into a real
// database and checks the bookkeeping: no panic; the load succeeds, or
// fails saying it stored nothing; every record read is stored or reported
// as a bad row at a line of the input; the database holds what was said
// to be stored. The corpus (testdata/fuzz/FuzzLoadUsers) holds the inputs
// of the defects fixed here.
func FuzzLoadUsers(f *testing.F) {
	for _, s := range []string{
		"Ada,Lovelace,ada@example.com\n",
		"Car\"l,x,\nAda,Lovelace,\n",
		"\"Alan,Turing,\nGrace,Hopper,\n",
		"A,B,a@x\nC,D,A@X\n,,\nE,F,e@x,extra\n",
	} {
		f.Add([]byte(s))
	}
	dsn := pgkittest.URL(f, schema.FS())
	f.Fuzz(func(t *testing.T, body []byte) {
		testshop.Exec(t, dsn, "TRUNCATE users RESTART IDENTITY CASCADE")
		input := "first_name,last_name,email\n" + string(body)
		code, out, errs := bulkload(t, dsn, input, "-table", "users", "-batch", "3")
		records := countRecords(t, input)
		m := loadedRE.FindStringSubmatch(out)
		if m == nil || (code != exitOK && (code != exitError || !strings.Contains(errs, "none of the"))) {
			t.Fatalf("exit %d, stdout %q\n%s", code, out, errs)
		}
		loaded, _ := strconv.Atoi(m[1])
		bad, _ := strconv.Atoi(m[2])
		if loaded+bad != records {
			t.Fatalf("%d loaded + %d bad of %d records\n%s", loaded, bad, records, errs)
		}
		if n := count(t, dsn, "SELECT count(*) FROM users"); n != loaded {
			t.Fatalf("%d rows in the table, %d said loaded", n, loaded)
		}
		lines := strings.Count(input, "\n") + 1
		for _, l := range badRE.FindAllStringSubmatch(errs, -1) {
			if n, _ := strconv.Atoi(l[1]); n < 2 || n > lines {
				t.Fatalf("bad row at line %d of an input of %d lines\n%s", n, lines, errs)
			}
		}
	})
}

// countRecords is how many records follow the header of input, good or
// malformed, as the load reads it (lines swallowed by a stray quote read
// again).
func countRecords(t *testing.T, input string) int {
	r := newCSVReader(strings.NewReader(input), defaultMaxRowBytes, true)
	n := -1 // the header
	for {
		_, _, err := r.Read()
		var ce *csvError
		switch {
		case errors.Is(err, io.EOF):
			return n
		case err == nil, errors.As(err, &ce):
			n++
		default:
			t.Fatal(err)
		}
	}
}
