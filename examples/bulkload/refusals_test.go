package main

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/shopdb/shopdb/internal/testshop"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
	"github.com/shopdb/shopdb/schema"
)

// A value the server cannot index (54000: index row size exceeds the
// maximum) is a bad row with its line number, like a constraint violation,
// not the end of the load.
func TestIndexRowTooBigIsARowError(t *testing.T) {
	t.Parallel()
	dsn := pgkittest.URL(t, schema.FS())
	// lower(email) is indexed; a value that does not compress below the
	// B-tree's limit of 2,704 bytes cannot be.
	rnd := rand.New(rand.NewPCG(1, 2))
	letters := make([]byte, 2990)
	for i := range letters {
		letters[i] = 'a' + byte(rnd.IntN(26))
	}
	long := string(letters) + "@example.com"
	input := "first_name,last_name,email\nAda,Lovelace,ada@example.com\nAlan,Turing," + long + "\nGrace,Hopper,\n"
	code, out, errs := bulkload(t, dsn, input, "-table", "users")
	if code != exitOK || !strings.Contains(out, "loaded 2 rows") || !strings.Contains(out, "1 bad rows skipped") {
		t.Fatalf("exit %d %s\n%s", code, out, errs)
	}
	if !strings.Contains(errs, "stdin:3: ") || !strings.Contains(errs, "54000") || !strings.Contains(errs, "users_email_lower_key") {
		t.Errorf("report does not name line 3, the SQLSTATE and the index:\n%s", errs)
	}
	if strings.Contains(errs, long[:20]) {
		t.Errorf("the report echoes the value:\n%s", errs)
	}
	// -all-or-nothing: the load fails, naming the line.
	dsn = pgkittest.URL(t, schema.FS())
	code, _, errs = bulkload(t, dsn, input, "-table", "users", "-all-or-nothing")
	if code != exitError || !strings.Contains(errs, "stdin:3: ") || !strings.Contains(errs, "54000") {
		t.Fatalf("-all-or-nothing: exit %d\n%s", code, errs)
	}
	if n := count(t, dsn, "SELECT count(*) FROM users"); n != 0 {
		t.Fatalf("-all-or-nothing stored %d rows", n)
	}
}

// With -all-or-nothing a foreign key violation (checked at the end of the
// COPY, so the server names no line) is blamed on the row that has it, not
// on the batch's first line.
func TestAllOrNothingBlamesTheRightLine(t *testing.T) {
	t.Parallel()
	dsn := pgkittest.URL(t, schema.FS())
	if code, _, errs := bulkload(t, dsn, "", "-table", "users", "-generate", "10"); code != exitOK {
		t.Fatalf("users: %s", errs)
	}
	if code, _, errs := bulkload(t, dsn, "", "-table", "products", "-generate", "10"); code != exitOK {
		t.Fatalf("products: %s", errs)
	}
	var b strings.Builder
	b.WriteString("product_id,user_id,rating,body\n")
	for i := range 8 {
		user := 1 + i
		if i == 5 {
			user = 999 // line 7: no such user
		}
		b.WriteString("1," + itoa(user) + ",5,fine\n")
	}
	code, _, errs := bulkload(t, dsn, b.String(), "-table", "reviews", "-all-or-nothing")
	if code != exitError || !strings.Contains(errs, "stdin:7: foreign key violation on constraint reviews_user_id_fkey") {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	if strings.Contains(errs, "stdin:2:") {
		t.Errorf("blamed on the batch's first line:\n%s", errs)
	}
	if n := count(t, dsn, "SELECT count(*) FROM reviews"); n != 0 {
		t.Fatalf("-all-or-nothing stored %d reviews", n)
	}
}

// A data exception the server raises (class 22: here a value too long for
// a column the test narrows) is a bad row at its line, named by column and
// SQLSTATE, like a constraint violation.
func TestServerDataExceptionIsARowError(t *testing.T) {
	t.Parallel()
	dsn := pgkittest.URL(t, schema.FS())
	testshop.Exec(t, dsn, "ALTER TABLE users ALTER COLUMN first_name TYPE varchar(5)")
	input := "first_name,last_name,email\nAda,Lovelace,\nBartholomew,Roberts,\nGrace,Hopper,\n"
	code, out, errs := bulkload(t, dsn, input, "-table", "users")
	if code != exitOK || !strings.Contains(out, "loaded 2 rows") {
		t.Fatalf("exit %d %s\n%s", code, out, errs)
	}
	if want := "stdin:3: value too long for its column (column first_name, SQLSTATE 22001)"; !strings.Contains(errs, want) {
		t.Errorf("report lacks %q:\n%s", want, errs)
	}
	if strings.Contains(errs, "Bartholomew") {
		t.Errorf("the report echoes the value:\n%s", errs)
	}
}

// A refusal that is not the row's fault (here the loading role may not
// insert) ends the load rather than being blamed on rows, and says where
// to go on from.
func TestServerErrorThatIsNotTheRowsEndsTheLoad(t *testing.T) {
	t.Parallel()
	dsn := pgkittest.URL(t, schema.FS())
	testshop.Exec(t, dsn, "REVOKE INSERT ON users FROM CURRENT_USER")
	code, _, errs := bulkload(t, dsn, "first_name,last_name,email\nAda,Lovelace,\nAlan,Turing,\n", "-table", "users")
	if code != exitError || !strings.Contains(errs, "42501") || strings.Contains(errs, "stdin:2:") || !strings.Contains(errs, "0 rows stored") || !strings.Contains(errs, "-from-line 2") {
		t.Fatalf("exit %d\n%s", code, errs)
	}
}
