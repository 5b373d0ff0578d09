package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// pgbench scripts: the same SQL as the other clients, prepared.
var pgbenchScripts = map[string]string{
	"point": `\set id random(1, :users)
SELECT user_id, first_name, last_name, email, created_at FROM users WHERE user_id = :id;
`,
	"page/sequential": `\set p random(1, :products)
\set u random(1, :users)
` + pageSQL,
	"page/pipelined": `\set p random(1, :products)
\set u random(1, :users)
\startpipeline
` + pageSQL + `\endpipeline
`,
	"order": `\set u random(1, :users)
\set p1 random(1, 100)
\set p2 random(1, 100)
BEGIN;
SELECT product_id, price_cents, stock FROM products WHERE product_id IN (:p1, :p2) ORDER BY product_id FOR UPDATE;
UPDATE products SET stock = stock - 1 WHERE product_id IN (:p1, :p2);
INSERT INTO orders (user_id, status, total_cents) VALUES (:u, 'pending', 0) RETURNING order_id \gset
INSERT INTO order_items (order_id, product_id, quantity, unit_price_cents)
	SELECT :order_id, product_id, 1, price_cents FROM products WHERE product_id IN (:p1, :p2);
COMMIT;
`,
}

const pageSQL = `SELECT product_id, sku, name, description, price_cents, stock, created_at FROM products WHERE product_id = :p;
SELECT review_id, product_id, user_id, rating, body, created_at FROM reviews WHERE product_id = :p ORDER BY created_at DESC, review_id DESC LIMIT 10;
SELECT order_id, user_id, status, total_cents, created_at FROM orders WHERE user_id = :u ORDER BY created_at DESC, order_id DESC LIMIT 10;
`

// pgbenchClients is the number of connections pgbench uses per workload. It
// has no pool: for the page, its 10 connections each run one page at a time.
var pgbenchClients = map[string]int{"point": pointConns, "page": pageConns, "order": orderWorkers}

// runPgbench runs PostgreSQL's C client on a workload and reads the
// latencies of the measured part from its per-transaction log.
func runPgbench(ctx context.Context, binDir, dsn, workload, mode string, cfg config) (Result, error) {
	key := workload
	if mode != "" {
		key += "/" + mode
	}
	script, ok := pgbenchScripts[key]
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
		"-c", strconv.Itoa(pgbenchClients[workload]), "-j", "2",
		"-T", strconv.Itoa(int(total.Round(time.Second).Seconds())),
		"-D", fmt.Sprint("users=", cfg.seed.users), "-D", fmt.Sprint("products=", cfg.seed.products),
		"-f", file, "-l", "--log-prefix", filepath.Join(dir, "log"), dsn)
	if out, err := cmd.CombinedOutput(); err != nil {
		return Result{}, fmt.Errorf("pgbench %s: %w: %s", key, err, lastLine(string(out)))
	}
	warmEnd := start.Add(cfg.warmup)
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
	return r, nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
