package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// pgbenchScript is the pgbench script of a workload (and mode: "page/pipelined"):
// the same SQL as the other clients, prepared; ok is false when pgbench
// cannot run it (COPY from the client; more callers than connections).
func pgbenchScript(key string) (script string, ok bool) {
	switch key {
	case "point":
		return `\set id random(1, :users)
SELECT user_id, first_name, last_name, email, created_at FROM users WHERE user_id = :id;
`, true
	case "page/sequential":
		return `\set p random(1, :products)
\set u random(1, :users)
` + pageSQL, true
	case "page/pipelined":
		return `\set p random(1, :products)
\set u random(1, :users)
\startpipeline
` + pageSQL + `\endpipeline
`, true
	case "order":
		return `\set u random(1, :users)
\set p1 random(1, 100)
\set p2 random(1, 100)
BEGIN;
SELECT product_id, price_cents, stock FROM products WHERE product_id IN (:p1, :p2) ORDER BY product_id FOR UPDATE;
UPDATE products SET stock = stock - 1 WHERE product_id IN (:p1, :p2);
INSERT INTO orders (user_id, status, total_cents) VALUES (:u, 'pending', 0) RETURNING order_id \gset
INSERT INTO order_items (order_id, product_id, quantity, unit_price_cents)
	SELECT :order_id, product_id, 1, price_cents FROM products WHERE product_id IN (:p1, :p2);
COMMIT;
`, true
	// The suite's (suite.go): its SQL, $n as pgbench variables.
	case "catalog":
		return "\\set typmod -1\n\\set defined 1\n" + pgbenchSQL(sqlTypes, "typmod", "defined"), true
	case "series":
		return fmt.Sprintf("\\set n %d\n", seriesLen) + pgbenchSQL(sqlSeries, "n"), true
	case "large":
		return pgbenchSQL(sqlBlobs), true
	case "arrays":
		return pgbenchSQL(sqlArrays), true
	case "select1":
		return pgbenchSQL(sqlOnePlusOne), true
	case "batch1k":
		return pgbenchBatch(), true
	}
	return "", false
}

// pgbenchBatch is batch1k's script: one pipeline of insertBatchRows
// INSERTs with one Sync, as a pgx.Batch and asyncpg's executemany send
// them; label and at come from -D. It is not quite their workload: pgbench
// prepares every line of a script as a statement of its own, so the
// server plans 1,000 statements anew (custom plans for each one's first
// five runs) where the others run one statement 1,000 times.
func pgbenchBatch() string {
	var b strings.Builder
	b.WriteString("\\set n random(1, 1000000)\n\\set big :n * 1000003\n\\set score :n / 7.0\n\\set flag :n % 2\n\\startpipeline\n")
	full := pgbenchSQL(sqlRowInsert, "n", "big", "label", "score", "at", "n", "big", "label", "flag", "at")
	nulls := pgbenchSQL(strings.NewReplacer("$6", "NULL", "$7", "NULL", "$8", "NULL", "$9", "NULL", "$10", "NULL").Replace(sqlRowInsert),
		"n", "big", "label", "score", "at")
	for i := range insertBatchRows {
		if i%nullEvery == 0 {
			b.WriteString(nulls)
		} else {
			b.WriteString(full)
		}
	}
	b.WriteString("\\endpipeline\n")
	return b.String()
}

// pgbenchSQL is sql as a pgbench command: $1, $2, … as the variables
// vars, ended by a semicolon and a newline.
func pgbenchSQL(sql string, vars ...string) string {
	for i := len(vars); i >= 1; i-- { // $10 before $1
		sql = strings.ReplaceAll(sql, fmt.Sprintf("$%d", i), ":"+vars[i-1])
	}
	return sql + ";\n"
}

// hasPgbenchScript reports whether pgbench can run r: not COPY from the
// client, not more callers than connections (select1-64).
func hasPgbenchScript(r run) bool {
	key := r.workload
	if r.mode != "" {
		key += "/" + r.mode
	}
	_, ok := pgbenchScript(key)
	return ok
}

// pageSQL is the shop's page (shop.LoadProductPage's first page: no
// cursor, one row more than shown). A pgbench variable cannot be NULL, so
// the cursor's parameters are written as NULL literals.
const pageSQL = `SELECT product_id, sku, name, description, price_cents, stock, created_at FROM products WHERE product_id = :p;
SELECT review_id, product_id, user_id, rating, body, created_at FROM reviews WHERE product_id = :p AND (NULL::timestamptz IS NULL OR NULL::bigint IS NULL OR (created_at, review_id) < (NULL::timestamptz, NULL::bigint)) ORDER BY created_at DESC, review_id DESC LIMIT 11;
SELECT order_id, user_id, status, total_cents, created_at FROM orders WHERE user_id = :u AND (NULL::timestamptz IS NULL OR NULL::bigint IS NULL OR (created_at, order_id) < (NULL::timestamptz, NULL::bigint)) ORDER BY created_at DESC, order_id DESC LIMIT 11;
`

// pgbenchClients is the number of connections pgbench uses per workload. It
// has no pool: for the page, its 10 connections each run one page at a time.
func pgbenchClients(workload string) int {
	switch workload {
	case "point":
		return pointConns
	case "page":
		return pageConns
	case "order":
		return orderWorkers
	}
	return suiteConns
}

// runPgbench runs PostgreSQL's C client on a workload and reads the
// latencies of the measured part from its per-transaction log.
func runPgbench(ctx context.Context, binDir, dsn, workload, mode string, cfg config) (Result, error) {
	key := workload
	if mode != "" {
		key += "/" + mode
	}
	script, ok := pgbenchScript(key)
	if !ok {
		return Result{}, fmt.Errorf("pgbench: no script for %s", key)
	}
	dir, err := os.MkdirTemp("", "shopdb-pgbench-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "script.sql")
	if err := os.WriteFile(file, []byte(script), 0o644); err != nil {
		return Result{}, err
	}
	total := cfg.warmup + cfg.duration
	start := time.Now()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "pgbench"), "-n", "-M", "prepared",
		"-c", strconv.Itoa(pgbenchClients(workload)), "-j", "2",
		"-T", strconv.Itoa(int(total.Round(time.Second).Seconds())),
		"-D", fmt.Sprint("users=", cfg.seed.users), "-D", fmt.Sprint("products=", cfg.seed.products),
		"-D", "label=row of the batch", "-D", "at=2026-01-01T00:00:00Z",
		"-f", file, "-l", "--log-prefix", filepath.Join(dir, "log"), dsn)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return Result{}, fmt.Errorf("pgbench %s: %w", key, err)
	}
	warmEnd := start.Add(cfg.warmup)
	warm := make(chan pgbenchCPU, 1)
	go func() { warm <- readPgbenchCPU(ctx, cmd.Process.Pid, cfg.serverPID, warmEnd) }()
	err = cmd.Wait()
	serverEnd, serverErr := serverCPU(cfg.serverPID)
	at := <-warm
	if err != nil {
		return Result{}, fmt.Errorf("pgbench %s: %w: %s", key, err, lastLine(out.String()))
	}
	logs, _ := filepath.Glob(filepath.Join(dir, "log.*"))
	var lat []time.Duration
	for _, l := range logs {
		f, err := os.Open(l)
		if err != nil {
			return Result{}, err
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// client_id transaction_no time_us script_no epoch_s epoch_us
			fields := strings.Fields(sc.Text())
			if len(fields) < 6 {
				continue
			}
			us, _ := strconv.ParseInt(fields[2], 10, 64)
			sec, _ := strconv.ParseInt(fields[4], 10, 64)
			usec, _ := strconv.ParseInt(fields[5], 10, 64)
			if time.Unix(sec, usec*1000).Before(warmEnd) {
				continue
			}
			lat = append(lat, time.Duration(us)*time.Microsecond)
		}
		f.Close()
	}
	measured := time.Since(warmEnd)
	r := latencyResult(lat, min(measured, cfg.duration+time.Second))
	r.Client, r.Workload, r.Mode = "pgbench", workload, mode
	// CPU over the measured part, as for the other clients: pgbench's own
	// (its process in /proc as the warm-up ended, its rusage at exit; the
	// per-transaction log it writes included) and the server's.
	if n := int64(len(lat)); n > 0 {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && at.clientOK {
			r.ClientCPUUs = perOpUs(rusageCPU(ru)-at.client, n)
		}
		if at.serverOK && serverErr == nil {
			r.ServerCPUUs = perOpUs(serverEnd-at.server, n)
		}
	}
	return r, nil
}

// pgbenchCPU is the CPU time a pgbench process and the server have used
// when the warm-up ends.
type pgbenchCPU struct {
	client, server     time.Duration
	clientOK, serverOK bool
}

// readPgbenchCPU waits for warmEnd and reads pgbench's (pid) and the
// server's CPU time (serverPID; 0: unknown).
func readPgbenchCPU(ctx context.Context, pid, serverPID int, warmEnd time.Time) pgbenchCPU {
	t := time.NewTimer(time.Until(warmEnd))
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	var c pgbenchCPU
	if st, err := readProcStat(pid); err == nil {
		c.client, c.clientOK = time.Duration(st.utime+st.stime)*clockTick, true
	}
	if serverPID > 0 {
		if s, err := serverCPU(serverPID); err == nil {
			c.server, c.serverOK = s, true
		}
	}
	return c
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
