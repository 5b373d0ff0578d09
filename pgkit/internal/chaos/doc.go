// Package chaos holds pgkit's chaos test (chaos_test.go): a throwaway
// server, a streaming standby and a fault-injecting proxy in front of
// each (package faultproxy); 200 goroutines running a mixed workload with
// tokens of their own (echoing reads, :many reads of 0 to 5,000 rows,
// arguments and results of 0 bytes to 16 MB, 64 MB in the long run,
// writes, transactions, statements cancelled mid-result, Pipeline,
// Gather, streams) against a pool, a multiplexing pool and replicated
// pools, while the proxy adds latency, stalls, truncates, resets and
// refuses connections and the server's backends are terminated and
// cancelled, the server stopped (SIGSTOP) and restarted.
//
// A checker then holds pgkit to what it promises: every caller gets
// exactly its own answer or a typed error (see classify), never later
// than its deadline plus 2 s; every acknowledged write is stored, and no
// write is stored twice or half; the DB closes in bounded time and leaves
// no goroutine, pooled connection or server backend behind; no error text
// carries a query argument. In the calm scenario (no faults) the only
// errors allowed are those load alone causes: deadlines and a full pool.
//
// go test runs the short version (a few seconds per scenario and mode);
// PGKIT_CHAOS=long (make chaos) runs every scenario for
// PGKIT_CHAOS_DURATION each (default 20s) and prints its counts.
package chaos
