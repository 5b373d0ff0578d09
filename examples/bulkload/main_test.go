package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/pgkit/pgkittest"
	"github.com/shopdb/shopdb/schema"
)

// TestMain runs the tests, or, in a child process the tests start (see
// startCommand), the command itself: the test binary is then bulkload.
func TestMain(m *testing.M) {
	if os.Getenv(envAsCommand) == "1" {
		os.Exit(command(os.Args[1:]))
	}
	os.Exit(pgkittest.Run(m))
}

// bulkload runs the command on dsn and returns its exit code and output.
func bulkload(t *testing.T, dsn, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append(args, "-progress", "none"), dsn, strings.NewReader(stdin), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func count(t *testing.T, dsn, sql string) int {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// usersCSV has 5 good rows and 5 bad ones, two of which only the server
// can refuse (a taken e-mail address, twice).
const usersCSV = `first_name,last_name,email
Ada,Lovelace,ada@example.com
Alan,Turing,
Grace,,grace@example.com
Edsger,Dijkstra,edsger@example.com,extra
Barbara,Liskov,ADA@example.com
Donald,"Knuth"x,donald@example.com
Frances,Allen,frances@example.com
John,Backus,john@example.com
Margaret,Hamilton,FRANCES@example.com
Niklaus,Wirth,niklaus@example.com
`

func TestSkipAndReport(t *testing.T) {
	t.Parallel()
	dsn := pgkittest.URL(t, schema.FS())
	// -batch 4: the server-side refusals land in different batches, which
	// are bisected down to the bad row.
	code, out, errs := bulkload(t, dsn, usersCSV, "-table", "users", "-batch", "4")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	// In line order, although the server's refusals are found later.
	for _, want := range []string{
		"stdin:4: first_name and last_name are required\n" +
			"stdin:5: 4 fields, want 3 (first_name,last_name,email)\n" +
			"stdin:6: unique violation on constraint users_email_lower_key\n" +
			"stdin:7: malformed CSV",
		"stdin:4: first_name and last_name are required",
		"stdin:5: 4 fields, want 3 (first_name,last_name,email)",
		"stdin:6: unique violation on constraint users_email_lower_key",
		"stdin:7: malformed CSV",
		"stdin:10: unique violation on constraint users_email_lower_key",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("report lacks %q:\n%s", want, errs)
		}
	}
	if strings.Contains(errs, "@example.com") {
		t.Errorf("the report echoes row values:\n%s", errs)
	}
	if !strings.Contains(out, "loaded 5 rows into users from stdin") || !strings.Contains(out, "5 bad rows skipped") || !strings.Contains(out, "rows/s") {
		t.Errorf("summary %q", out)
	}
	if n := count(t, dsn, "SELECT count(*) FROM users"); n != 5 {
		t.Fatalf("%d users stored, want the 5 good rows", n)
	}
}

func TestAllOrNothing(t *testing.T) {
	t.Parallel()
	dsn := pgkittest.URL(t, schema.FS())
	// A parse error: nothing stored, the line named.
	code, _, errs := bulkload(t, dsn, usersCSV, "-table", "users", "-all-or-nothing")
	if code != exitError || !strings.Contains(errs, "stdin:4: first_name and last_name are required") || !strings.Contains(errs, "nothing was stored") {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	// A refusal only the server sees, in the second batch: the first batch
	// was already copied in the same transaction and goes too.
	input := "first_name,last_name,email\nA,B,a@x.org\nC,D,c@x.org\nE,F,e@x.org\nG,H,A@X.ORG\n"
	code, _, errs = bulkload(t, dsn, input, "-table", "users", "-all-or-nothing", "-batch", "2")
	if code != exitError || !strings.Contains(errs, "unique violation on constraint users_email_lower_key") || !strings.Contains(errs, "stdin:5") {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	if n := count(t, dsn, "SELECT count(*) FROM users"); n != 0 {
		t.Fatalf("%d users stored by failed all-or-nothing loads, want 0", n)
	}
	// And a clean file loads whole.
	code, out, errs := bulkload(t, dsn, input[:strings.LastIndex(input, "G,H")], "-table", "users", "-all-or-nothing")
	if code != exitOK || !strings.Contains(out, "loaded 3 rows") {
		t.Fatalf("exit %d %s\n%s", code, out, errs)
	}
}

func TestForeignKeysAndFiles(t *testing.T) {
	t.Parallel()
	dsn := pgkittest.URL(t, schema.FS())
	if code, out, errs := bulkload(t, dsn, "", "-table", "users", "-generate", "2000"); code != exitOK || !strings.Contains(out, "loaded 2000 rows") {
		t.Fatalf("users: exit %d %s %s", code, out, errs)
	}
	if code, out, errs := bulkload(t, dsn, "", "-table", "products", "-generate", "100"); code != exitOK || !strings.Contains(out, "loaded 100 rows") {
		t.Fatalf("products: exit %d %s %s", code, out, errs)
	}
	// Reviews from a file: the rows naming a product that does not exist
	// fail their foreign key (checked at the end of each COPY) and are
	// found by bisection.
	var b strings.Builder
	b.WriteString("product_id,user_id,rating,body\n")
	for i := range 300 {
		product := 1 + i%100
		if i == 17 || i == 250 {
			product = 5000
		}
		b.WriteString(strings.Join([]string{itoa(product), itoa(1 + i), itoa(1 + i%5), "ok"}, ",") + "\n")
	}
	file := filepath.Join(t.TempDir(), "reviews.csv")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := bulkload(t, dsn, "", "-table", "reviews", "-file", file, "-batch", "64")
	if code != exitOK || !strings.Contains(out, "loaded 298 rows") {
		t.Fatalf("reviews: exit %d %s\n%s", code, out, errs)
	}
	for _, line := range []int{19, 252} { // header + 0-based i + 1
		if want := file + ":" + itoa(line) + ": foreign key violation on constraint reviews_product_id_fkey"; !strings.Contains(errs, want) {
			t.Errorf("report lacks %q:\n%s", want, errs)
		}
	}
	if code, _, _ := bulkload(t, dsn, "", "-table", "orders", "-generate", "3000"); code != exitOK {
		t.Fatal("orders")
	}
	if n := count(t, dsn, "SELECT count(*) FROM orders"); n != 3000 {
		t.Fatalf("%d orders", n)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args  []string
		stdin string
		code  int
		want  string
	}{
		{[]string{}, "", exitUsage, "-table is required"},
		{[]string{"-table", "users", "-generate", "5", "-file", "x.csv"}, "", exitUsage, "exclude each other"},
		{[]string{"-table", "users", "-file", "/nonexistent/x.csv"}, "", exitUsage, "no such file"},
		{[]string{"-table", "widgets"}, "a\n", exitUsage, `unknown table "widgets"`},
		{[]string{"-table", "users"}, "last_name,first_name,email\n", exitError, `header "last_name,first_name,email", want "first_name,last_name,email"`},
		{[]string{"-table", "users"}, "", exitError, "stdin is empty"},
	} {
		dsn := ""
		if tc.code != exitUsage {
			dsn = pgkittest.URL(t, schema.FS())
		}
		code, _, errs := bulkload(t, dsn, tc.stdin, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, %q; want %d and %q", tc.args, code, errs, tc.code, tc.want)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
