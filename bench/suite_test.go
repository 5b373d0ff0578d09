package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// generatedSQL returns the SQL constants sqlc generated in benchdb, by
// name, without sqlc's leading comment lines.
func generatedSQL(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob("benchdb/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("benchdb sources: %v (%d files)", err, len(files))
	}
	out := map[string]string{}
	fset := token.NewFileSet()
	for _, f := range files {
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			spec, ok := n.(*ast.ValueSpec)
			if !ok || len(spec.Values) != 1 {
				return true
			}
			lit, ok := spec.Values[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil || !strings.HasPrefix(s, "-- name: ") {
				return true
			}
			var body []string
			for _, line := range strings.Split(s, "\n") {
				if !strings.HasPrefix(line, "--") {
					body = append(body, line)
				}
			}
			out[spec.Names[0].Name] = strings.TrimSpace(strings.Join(body, "\n"))
			return true
		})
	}
	return out
}

// TestSuiteSQLIsBenchdbs: raw pgx, asyncpg and pgbench send exactly the
// SQL sqlc generated for shopdb, so that the clients differ only in how
// they send it.
func TestSuiteSQLIsBenchdbs(t *testing.T) {
	gen := generatedSQL(t)
	for name, sql := range map[string]string{
		"typeList": sqlTypes, "seriesList": sqlSeries, "blobList": sqlBlobs,
		"arrayList": sqlArrays, "rowInsert": sqlRowInsert, "onePlusOne": sqlOnePlusOne,
	} {
		if gen[name] != sql {
			t.Errorf("%s: benchdb has\n%s\nbench sends\n%s", name, gen[name], sql)
		}
		if !strings.Contains(string(asyncpgScript), sql) {
			t.Errorf("%s: asyncpg_bench.py does not send\n%s", name, sql)
		}
	}
}

// TestPgbenchScripts: the suite's scripts are the SQL with $n replaced by
// variables ($10 not read as $1 and a 0), and the batch is one pipeline of
// insertBatchRows INSERTs, every nullEvery-th with NULLs.
func TestPgbenchScripts(t *testing.T) {
	for _, w := range suiteWorkloads {
		script, ok := pgbenchScript(w)
		if w == "copy10k" || w == "select1-64" {
			if ok {
				t.Errorf("%s: pgbench cannot run it as the others do, yet has a script", w)
			}
			continue
		}
		if !ok || strings.Contains(script, "$") {
			t.Errorf("%s: script %v, %q; want one without $ parameters", w, ok, script)
		}
	}
	batch, _ := pgbenchScript("batch1k")
	inserts, nulls := strings.Count(batch, "INSERT INTO bench_rows"), strings.Count(batch, "NULL::integer")
	if inserts != insertBatchRows || nulls != insertBatchRows/nullEvery || !strings.Contains(batch, ":flag::boolean, :at::timestamptz)") ||
		strings.Count(batch, `\startpipeline`) != 1 || strings.Count(batch, `\endpipeline`) != 1 {
		t.Errorf("batch1k: %d INSERTs, %d with NULLs, pipeline %d/%d; want %d, %d, one pipeline", inserts, nulls,
			strings.Count(batch, `\startpipeline`), strings.Count(batch, `\endpipeline`), insertBatchRows, insertBatchRows/nullEvery)
	}
}

// TestRatiosMarkTheGoal: the ratio table marks a workload whose client CPU
// per operation is above 1.05 × raw pgx's, compares copy10k's modes with
// pgx's only one, and shows mux over the pool.
func TestRatiosMarkTheGoal(t *testing.T) {
	s := summarise([]Result{
		{Client: "shopdb", Workload: "select1", Rate: 90, ClientCPUUs: 10.6},
		{Client: "shopdb-mux", Workload: "select1", Rate: 180, ClientCPUUs: 5.3},
		{Client: "pgx", Workload: "select1", Rate: 100, ClientCPUUs: 10},
		{Client: "shopdb", Workload: "copy10k", Mode: "slice", Rate: 10, ClientCPUUs: 1040},
		{Client: "pgx", Workload: "copy10k", Rate: 10, ClientCPUUs: 1000},
	})
	var b strings.Builder
	writeRatios(&b, s)
	for _, want := range []string{
		"| select1 |  | 1.06 | **no** | 0.90 | - | 0.50 | 2.00 |",
		"| copy10k | slice | 1.04 | yes | 1.00 | - | - | - |",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("ratios lack %q:\n%s", want, b.String())
		}
	}
}

// TestReadProcStatOddName: /proc/<pid>/stat is read from the last ')', so
// a command named with spaces and parentheses does not shift the fields,
// and serverCPU finds children by their parent.
func TestReadProcStatOddName(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary:", err)
	}
	b, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	odd := filepath.Join(t.TempDir(), "a) b (c")
	if err := os.WriteFile(odd, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(odd, "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	st, err := readProcStat(cmd.Process.Pid)
	if err != nil || st.comm != "a) b (c" || st.ppid != os.Getpid() || st.utime < 0 || st.stime < 0 {
		t.Fatalf("readProcStat = %+v, %v; want comm %q, ppid %d", st, err, "a) b (c", os.Getpid())
	}
	self, err := readProcStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	total, err := serverCPU(os.Getpid())
	if err != nil || total < time.Duration(self.utime+self.stime)*clockTick {
		t.Errorf("serverCPU(self) = %s, %v; want at least this process's own %d ticks", total, err, self.utime+self.stime)
	}
	if _, err := serverCPU(0); err == nil {
		t.Error("serverCPU(0): no error for a PID that is no process")
	}
}
