package main

import (
	"encoding/csv"
	"strings"
	"testing"

	"github.com/shopdb/shopdb/pgkit/pgkittest"
	"github.com/shopdb/shopdb/schema"
)

// A quote error in a record's first field is a bad row like any other
// (it used to panic: FieldPos out of range on the nil record).
func TestQuoteErrorInFirstField(t *testing.T) {
	t.Parallel()
	dsn := pgkittest.URL(t, schema.FS())
	input := "first_name,last_name,email\nCar\"l,x,\nAda,Lovelace,\n\"Al\"an,Turing,\n"
	code, out, errs := bulkload(t, dsn, input, "-table", "users")
	if code != exitOK || !strings.Contains(out, "loaded 1 rows") {
		t.Fatalf("exit %d %s\n%s", code, out, errs)
	}
	for _, want := range []string{"stdin:2: malformed CSV: " + csv.ErrBareQuote.Error(), "stdin:4: malformed CSV: " + csv.ErrQuote.Error()} {
		if !strings.Contains(errs, want) {
			t.Errorf("report lacks %q:\n%s", want, errs)
		}
	}
	code, _, errs = bulkload(t, dsn, input, "-table", "users", "-all-or-nothing")
	if code != exitError || !strings.Contains(errs, "stdin:2: malformed CSV") {
		t.Fatalf("-all-or-nothing: exit %d\n%s", code, errs)
	}
}

// A UTF-8 byte order mark before the header (Excel's "CSV UTF-8") is
// skipped, not read as part of the first column's name.
func TestByteOrderMarkSkipped(t *testing.T) {
	t.Parallel()
	dsn := pgkittest.URL(t, schema.FS())
	code, out, errs := bulkload(t, dsn, "\uFEFFfirst_name,last_name,email\nAda,Lovelace,ada@example.com\n", "-table", "users")
	if code != exitOK || !strings.Contains(out, "loaded 1 rows") {
		t.Fatalf("exit %d %s\n%s", code, out, errs)
	}
	if n := count(t, dsn, "SELECT count(*) FROM users WHERE first_name = 'Ada'"); n != 1 {
		t.Fatalf("%d rows with first_name Ada", n)
	}
}

// A CRLF inside a quoted field is data and is stored as it is; the CRLFs
// that end records are not.
func TestQuotedCRLFPreserved(t *testing.T) {
	t.Parallel()
	dsn := pgkittest.URL(t, schema.FS())
	input := "sku,name,description,price_cents,stock\r\n" +
		"A-1,Lamp,\"line one\r\nline two\",100,3\r\n" +
		"A-2,Desk,\"lone\rcarriage return, lone\nnewline\",200,4\r\n"
	code, out, errs := bulkload(t, dsn, input, "-table", "products")
	if code != exitOK || !strings.Contains(out, "loaded 2 rows") {
		t.Fatalf("exit %d %s\n%s", code, out, errs)
	}
	if n := count(t, dsn, `SELECT count(*) FROM products WHERE sku = 'A-1' AND description = E'line one\r\nline two' AND stock = 3`); n != 1 {
		t.Errorf("A-1: the CRLF inside the quoted description was not stored as CRLF")
	}
	if n := count(t, dsn, `SELECT count(*) FROM products WHERE sku = 'A-2' AND description = E'lone\rcarriage return, lone\nnewline' AND stock = 4`); n != 1 {
		t.Errorf("A-2: description or stock altered")
	}
}

// An unterminated quote is reported at the line where it opens, and the
// good lines it swallowed are read again as records and loaded.
func TestUnterminatedQuote(t *testing.T) {
	t.Parallel()
	dsn := pgkittest.URL(t, schema.FS())
	input := "first_name,last_name,email\n" +
		"Ada,Lovelace,ada@example.com\n" +
		"\"Alan,Turing,alan@example.com\n" + // line 3: the quote never closes
		"Grace,Hopper,grace@example.com\n" +
		"Edsger,Dijkstra,edsger@example.com\n"
	code, out, errs := bulkload(t, dsn, input, "-table", "users")
	if code != exitOK || !strings.Contains(out, "loaded 3 rows") {
		t.Fatalf("exit %d %s\n%s", code, out, errs)
	}
	if !strings.Contains(errs, "stdin:3: malformed CSV: unterminated quoted field") || !strings.Contains(errs, "lines 4–5") {
		t.Errorf("report does not name line 3 and the lines it swallowed:\n%s", errs)
	}
	if strings.Contains(errs, "stdin:5:") {
		t.Errorf("blamed on the last line:\n%s", errs)
	}
	if n := count(t, dsn, "SELECT count(*) FROM users WHERE first_name IN ('Ada', 'Grace', 'Edsger')"); n != 3 {
		t.Fatalf("%d of the 3 good rows stored", n)
	}
}
