package main

import (
	"fmt"
	"slices"
	"time"
)

// Result is one client's measurement of one workload, as a worker (Go,
// Python or pgbench) reports it on stdout in JSON.
type Result struct {
	Client    string  `json:"client"`
	Workload  string  `json:"workload"`
	Mode      string  `json:"mode,omitempty"`
	Rate      float64 `json:"rate"` // queries, pages, orders or rows per second
	P50Ms     float64 `json:"p50_ms,omitempty"`
	P99Ms     float64 `json:"p99_ms,omitempty"`
	Retries   int64   `json:"retries,omitempty"`
	Errors    int64   `json:"errors,omitempty"` // operations that failed with ErrPoolExhausted (oversub)
	Count     int64   `json:"count"`
	PeakRSSMB float64 `json:"peak_rss_mb,omitempty"` // the process's peak resident set (VmHWM)
	// CPU per operation (query, page, order, row for copy and stream), in
	// µs: the client process's user + system time, and the server's (the
	// postmaster and its children, from /proc; 0 when the server is not on
	// this machine), over the measured operations.
	ClientCPUUs float64 `json:"client_cpu_us,omitempty"`
	ServerCPUUs float64 `json:"server_cpu_us,omitempty"`
}

// key names the series a Result belongs to.
func (r Result) key() string {
	if r.Mode == "" {
		return r.Client + "/" + r.Workload
	}
	return r.Client + "/" + r.Workload + "/" + r.Mode
}

// latencyResult turns per-operation latencies over elapsed into a Result.
func latencyResult(lat []time.Duration, elapsed time.Duration) Result {
	slices.Sort(lat)
	pct := func(p int) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[min(len(lat)-1, len(lat)*p/100)].Microseconds()) / 1000
	}
	return Result{Rate: float64(len(lat)) / elapsed.Seconds(), P50Ms: pct(50), P99Ms: pct(99), Count: int64(len(lat))}
}

func (r Result) String() string {
	return fmt.Sprintf("%-28s %12.0f/s p50 %6.2fms p99 %6.2fms cpu client %8.2fµs server %8.2fµs rss %6.1fMB retries %d exhausted %d",
		r.key(), r.Rate, r.P50Ms, r.P99Ms, r.ClientCPUUs, r.ServerCPUUs, r.PeakRSSMB, r.Retries, r.Errors)
}

// key names the series r's results belong to.
func (r run) key() string { return Result{Client: r.client, Workload: r.workload, Mode: r.mode}.key() }
