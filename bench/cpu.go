package main

// CPU per operation, of the client and of the server: what throughput on a
// shared 2-core machine cannot show. The client's is getrusage of its own
// process (user + system, every thread); the server's is the sum of
// utime + stime over the postmaster and its children in /proc, so it is
// known only when the server runs on this machine.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// clockTick is the unit of the times in /proc/<pid>/stat: USER_HZ, which
// Linux fixes at 100 for user space on every architecture it exports
// /proc to (sysconf(_SC_CLK_TCK); Go has no sysconf).
const clockTick = 10 * time.Millisecond

// clientCPU is the user + system time this process has used so far.
func clientCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return rusageCPU(&ru)
}

// rusageCPU is ru's user + system time.
func rusageCPU(ru *syscall.Rusage) time.Duration {
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procStat is what bench reads of /proc/<pid>/stat.
type procStat struct {
	comm                         string
	ppid                         int
	utime, stime, cutime, cstime int64 // clock ticks
}

// readProcStat parses /proc/<pid>/stat. The command name, in parentheses,
// may hold spaces and parentheses itself: the fields are counted from the
// last ')'.
func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return procStat{}, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	// After ")": state ppid pgrp session tty_nr tpgid flags minflt cminflt
	// majflt cmajflt utime stime cutime cstime … (proc(5), fields 3 on).
	f := strings.Fields(s[end+1:])
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: %d fields after the name", pid, len(f))
	}
	st := procStat{comm: s[open+1 : end]}
	nums := []*int64{&st.utime, &st.stime, &st.cutime, &st.cstime}
	for i, p := range nums {
		if *p, err = strconv.ParseInt(f[11+i], 10, 64); err != nil {
			return procStat{}, fmt.Errorf("/proc/%d/stat: field %d: %w", pid, 14+i, err)
		}
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return procStat{}, fmt.Errorf("/proc/%d/stat: ppid: %w", pid, err)
	}
	st.ppid = ppid
	return st, nil
}

// serverCPU is the CPU time the server whose postmaster is pid has used so
// far: the postmaster's own and that of its children that have exited
// (cutime, cstime: the postmaster waits for every backend), plus that of
// its live children (backends, checkpointer, walwriter, …). A backend that
// exits between two readings moves from the one sum to the other, so
// differences stay right.
func serverCPU(pid int) (time.Duration, error) {
	pm, err := readProcStat(pid)
	if err != nil {
		return 0, err
	}
	ticks := pm.utime + pm.stime + pm.cutime + pm.cstime
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil || child == pid {
			continue
		}
		st, err := readProcStat(child)
		if err != nil || st.ppid != pid {
			continue // gone since the listing, or not the server's
		}
		ticks += st.utime + st.stime
	}
	return time.Duration(ticks) * clockTick, nil
}

// findPostmaster returns the PID of the postmaster of the server behind
// dsn when it runs on this machine (its backend's parent in /proc, both
// named postgres), or 0 with the reason when it does not.
func findPostmaster(ctx context.Context, dsn string) (int, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var backend int
	if err := conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&backend); err != nil {
		return 0, err
	}
	st, err := readProcStat(backend)
	if err != nil || st.comm != "postgres" {
		return 0, errors.New("the server's backend is not a process of this machine: no server CPU figures")
	}
	pm, err := readProcStat(st.ppid)
	if err != nil || pm.comm != "postgres" {
		return 0, errors.New("the backend's parent is not a postmaster of this machine: no server CPU figures")
	}
	return st.ppid, nil
}

// cpuMeter measures the client's and the server's CPU over an interval:
// start, then stop with the number of operations in it. Readings of the
// server are taken outside the client's interval: scanning /proc costs
// the client a few milliseconds.
type cpuMeter struct {
	serverPID        int // the postmaster; 0: the server's CPU is not measured
	client0, server0 time.Duration
	serverOK         bool
}

// start begins the interval.
func (m *cpuMeter) start() {
	if m.serverPID > 0 {
		var err error
		m.server0, err = serverCPU(m.serverPID)
		m.serverOK = err == nil
	}
	m.client0 = clientCPU()
}

// stop ends the interval and sets r's CPU per operation, in µs, over ops.
func (m *cpuMeter) stop(r *Result, ops int64) {
	client := clientCPU() - m.client0
	if ops <= 0 {
		return
	}
	r.ClientCPUUs = perOpUs(client, ops)
	if server, ok := m.server(); ok {
		r.ServerCPUUs = perOpUs(server, ops)
	}
}

// server is the server's CPU time since start, when known.
func (m *cpuMeter) server() (time.Duration, bool) {
	if !m.serverOK {
		return 0, false
	}
	now, err := serverCPU(m.serverPID)
	return now - m.server0, err == nil
}

// perOpUs is d over ops, in microseconds.
func perOpUs(d time.Duration, ops int64) float64 {
	return float64(d.Nanoseconds()) / 1000 / float64(ops)
}
