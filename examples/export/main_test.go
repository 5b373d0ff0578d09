package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
	"github.com/shopdb/shopdb/schema"
)

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) == "1" {
		main()
		return
	}
	os.Exit(pgkittest.Run(m))
}

// database returns a fresh database with n demo orders.
func database(t *testing.T, n int) string {
	t.Helper()
	dsn := pgkittest.URL(t, schema.FS())
	pool, err := pgkit.Open(context.Background(), dsn, pgkit.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := loadDemo(context.Background(), pool, n); err != nil {
		t.Fatal(err)
	}
	// A value CSV must quote, and a NULL.
	if _, err := pool.Exec(context.Background(), `UPDATE users SET last_name = 'O''Neil, "Jr"', email = NULL WHERE user_id = (SELECT min(user_id) FROM users)`); err != nil {
		t.Fatal(err)
	}
	return dsn
}

func export1(t *testing.T, ctx context.Context, dsn string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, dsn, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestCSVCopyAndRowsAgree(t *testing.T) {
	t.Parallel()
	dsn := database(t, 5000)
	for _, table := range []string{"users", "orders"} {
		code, viaCopy, errs := export1(t, context.Background(), dsn, "-table", table, "-via", "copy")
		if code != exitOK {
			t.Fatalf("copy: exit %d %s", code, errs)
		}
		code, viaRows, errs := export1(t, context.Background(), dsn, "-table", table)
		if code != exitOK {
			t.Fatalf("rows: exit %d %s", code, errs)
		}
		if viaCopy != viaRows {
			a, b := strings.Split(viaCopy, "\n"), strings.Split(viaRows, "\n")
			for i := range min(len(a), len(b)) {
				if a[i] != b[i] {
					t.Fatalf("%s: line %d differs:\ncopy %q\nrows %q", table, i+1, a[i], b[i])
				}
			}
			t.Fatalf("%s: %d lines via copy, %d via rows", table, len(a), len(b))
		}
		want := map[string]int{"users": 500, "orders": 5000}[table]
		if lines := strings.Count(viaCopy, "\n"); lines != want+1 {
			t.Fatalf("%s: %d lines, want a header and %d rows", table, lines, want)
		}
		if !strings.Contains(errs, "rows/s") {
			t.Errorf("no rate in %q", errs)
		}
	}
	_, users, _ := export1(t, context.Background(), dsn, "-table", "users")
	if !strings.Contains(users, `"O'Neil, ""Jr"""`) || !strings.HasPrefix(users, "user_id,first_name,last_name,email,created_at\n") {
		t.Fatalf("CSV quoting or header:\n%.300s", users)
	}
}

func TestJSONLinesAndQuery(t *testing.T) {
	t.Parallel()
	dsn := database(t, 1000)
	code, out, errs := export1(t, context.Background(), dsn, "-query", "SELECT user_id, last_name, email FROM users WHERE user_id <= 3 ORDER BY user_id;", "-format", "jsonl")
	if code != exitOK {
		t.Fatalf("exit %d %s", code, errs)
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	var rows []map[string]any
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		rows = append(rows, m)
	}
	if len(rows) != 3 || rows[0]["last_name"] != `O'Neil, "Jr"` || rows[0]["email"] != nil || rows[1]["user_id"] != 2.0 {
		t.Fatalf("rows %v", rows)
	}
}

func TestFileIsWholeOrAbsent(t *testing.T) {
	t.Parallel()
	dsn := database(t, 2000)
	dir := t.TempDir()
	path := filepath.Join(dir, "orders.jsonl")
	if code, _, errs := export1(t, context.Background(), dsn, "-table", "orders", "-format", "jsonl", "-o", path); code != exitOK {
		t.Fatalf("exit %d %s", code, errs)
	}
	data, err := os.ReadFile(path)
	if err != nil || bytes.Count(data, []byte("\n")) != 2000 {
		t.Fatalf("file: %d lines, %v", bytes.Count(data, []byte("\n")), err)
	}

	// Interrupted mid-result: the query is cancelled on the server, the
	// partial file removed, the exit code says so.
	for _, args := range [][]string{
		{"-format", "csv"}, {"-format", "csv", "-via", "rows"}, {"-format", "jsonl"},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		out := filepath.Join(dir, "big-"+strings.Join(args, "")+".out")
		var once sync.Once
		go func() {
			// Cancel once the export has started writing.
			for {
				matches, _ := filepath.Glob(filepath.Join(dir, ".big-*partial*"))
				for _, m := range matches {
					if st, err := os.Stat(m); err == nil && st.Size() > 0 {
						once.Do(cancel)
						return
					}
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
		code, _, errs := export1(t, ctx, dsn, append(args, "-query", "SELECT a * 100000 + b AS n, md5(b::text) /* export-cancel-test */ FROM generate_series(1, 1000) a, generate_series(1, 100000) b", "-o", out)...)
		cancel()
		if code != exitCancelled || !strings.Contains(errs, "interrupted") || !strings.Contains(errs, "partial file was removed") {
			t.Fatalf("%v: exit %d, %s", args, code, errs)
		}
		if leftovers, _ := filepath.Glob(filepath.Join(dir, ".big-*")); len(leftovers) > 0 {
			t.Fatalf("%v: partial files left: %v", args, leftovers)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Fatalf("%v: %s exists after an interrupted export", args, out)
		}
	}
	// Nothing of the cancelled queries runs on the server any more.
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	deadline := time.Now().Add(5 * time.Second)
	for {
		var n int
		if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE state = 'active' AND query LIKE '%export-cancel-test%' AND pid <> pg_backend_pid()`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d cancelled export queries still run on the server", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestExportUsage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "give one of -table and -query"},
		{[]string{"-table", "users", "-query", "SELECT 1"}, "give one of -table and -query"},
		{[]string{"-table", "secrets"}, `-table "secrets"`},
		{[]string{"-table", "users", "-format", "xml"}, "-format"},
		{[]string{"-table", "users", "-via", "carrier-pigeon"}, "-via"},
	} {
		code, _, errs := export1(t, context.Background(), "", tc.args...)
		if code != exitUsage || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d %q, want usage error %q", tc.args, code, errs, tc.want)
		}
	}
}

// TestJSONMatchesRowToJSON: the JSON made here says what the server's
// row_to_json says, for every kind of value (timestamps compared as
// instants: row_to_json writes the session's zone, we write UTC).
func TestJSONMatchesRowToJSON(t *testing.T) {
	t.Parallel()
	dsn := database(t, 10)
	pool, err := pgkit.Open(context.Background(), dsn, pgkit.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	sel := `SELECT 1::int2 AS a, (-2147483648)::int4 AS b, 9007199254740993::int8 AS c, 12.50::numeric AS d,
		'NaN'::float8 AS e, 'Infinity'::float4 AS f, 1.5::float8 AS g, true AS h, false AS i, NULL::text AS j,
		E'quote " back \\ nl \n tab \t bell \x07 é 𝄞' AS k, '{"x": [1, "y"]}'::jsonb AS l, '[1,2]'::json AS m,
		'2026-01-02 03:04:05.123456+05:30'::timestamptz AS n, '2026-01-02 03:04:05'::timestamp AS o,
		'2026-01-02'::date AS p, ARRAY[1,2] AS arr, ARRAY[[1.5,NULL],[3,4]] AS arr2, ARRAY['a b', 'c"d', NULL, 'e\\f', ''] AS arr3, '{}'::int[] AS arr4, ARRAY[true,false] AS arr5, 'paid'::order_status AS r, ''::text AS s,
		'infinity'::timestamptz AS u`
	var got bytes.Buffer
	if _, err := jsonLines(context.Background(), pool, sel, &countingWriter{w: &got}); err != nil {
		t.Fatal(err)
	}
	var want string
	if err := pool.QueryRow(context.Background(), "SELECT row_to_json(q)::text FROM ("+sel+") q").Scan(&want); err != nil {
		t.Fatal(err)
	}
	var ours, theirs map[string]any
	if err := json.Unmarshal(got.Bytes(), &ours); err != nil {
		t.Fatalf("our line %s: %v", got.Bytes(), err)
	}
	dec := json.NewDecoder(strings.NewReader(want))
	if err := dec.Decode(&theirs); err != nil {
		t.Fatal(err)
	}
	if len(ours) != len(theirs) {
		t.Fatalf("%d keys, row_to_json has %d:\n%s\n%s", len(ours), len(theirs), got.Bytes(), want)
	}
	for k, v := range theirs {
		o := ours[k]
		switch k {
		case "n", "o":
			tv, _ := time.Parse(time.RFC3339Nano, v.(string)+map[string]string{"n": "", "o": "Z"}[k])
			ov, err := time.Parse(time.RFC3339Nano, o.(string))
			if err != nil || !tv.Equal(ov) {
				t.Errorf("%s: ours %v, row_to_json %v", k, o, v)
			}
		case "c": // beyond float64: compare the digits
			if !strings.Contains(got.String(), `"c":9007199254740993`) {
				t.Errorf("int8 digits lost: %s", got.Bytes())
			}
		default:
			a, _ := json.Marshal(o)
			b, _ := json.Marshal(v)
			if !bytes.Equal(a, b) {
				t.Errorf("%s: ours %s, row_to_json %s", k, a, b)
			}
		}
	}
}
