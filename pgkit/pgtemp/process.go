package pgtemp

// Processes pgtemp did not start itself but must account for: the
// postmaster and backends a pg_autoctl keeper starts, found by their PID
// files and their working directories. Nothing here is a library's job: a
// few reads of /proc.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// exited reports whether pid is gone or a zombie waiting to be reaped by
// its parent (a postmaster killed under a pg_autoctl keeper is one until
// the keeper reaps it).
func exited(pid int) bool {
	if !processAlive(pid) {
		return true
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return errors.Is(err, os.ErrNotExist)
	}
	// The state follows the command name, which is in parentheses.
	i := strings.LastIndexByte(string(b), ')')
	return i > 0 && len(b) > i+2 && b[i+2] == 'Z'
}

// waitExited polls until every pid has exited or ctx ends.
func waitExited(ctx context.Context, pids ...int) error {
	for {
		var left []int
		for _, p := range pids {
			if !exited(p) {
				left = append(left, p)
			}
		}
		if len(left) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pgtemp: processes %v still running: %w", left, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// processesIn lists the live processes whose working directory is dir or
// below it: every postgres process of a data directory in dir (a
// postmaster and its backends run in their data directory), and the
// pg_autoctl processes started there. Only processes whose /proc entry
// this process may read are seen: all of them as root, the caller's own
// otherwise (which the servers are then).
func processesIn(dir string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if err != nil {
			continue
		}
		// A folder removed under a running process reads "path (deleted)".
		cwd = strings.TrimSuffix(cwd, " (deleted)")
		if (cwd == dir || strings.HasPrefix(cwd, dir+"/")) && !exited(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// killIn sends SIGKILL to every process processesIn(dir) lists and waits,
// within ctx, until they have exited.
func killIn(ctx context.Context, dir string) error {
	pids := processesIn(dir)
	for _, p := range pids {
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
	return waitExited(ctx, pids...)
}

// readPIDFile returns the numbers on the lines of a PID file
// (postmaster.pid, pg_autoctl.pid) that hold one, by line (1-based), and
// the PID of its first line.
func readPIDFile(path string) (pid int, lines map[int]int, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, nil, err
	}
	lines = map[int]int{}
	for i, l := range strings.Split(string(b), "\n") {
		if n, err := strconv.Atoi(strings.TrimSpace(l)); err == nil {
			lines[i+1] = n
		}
	}
	if lines[1] <= 0 {
		return 0, nil, fmt.Errorf("pgtemp: %s: no PID on its first line", path)
	}
	return lines[1], lines, nil
}

// autoctlSemaphoreLine is the line of pg_autoctl.pid that holds the id of
// the System V semaphore pg_autoctl serialises its log lines with
// (PIDFILE_LINE_SEM_ID in pg_autoctl's pidfile.h).
const autoctlSemaphoreLine = 5

// removeStaleSemaphore removes the semaphore a pg_autoctl process that
// was killed (and so could not remove it at exit) names in its PID file,
// as pg_autoctl itself does when it finds a stale PID file. It does
// nothing while that process lives, or when there is no PID file (the
// process exited normally and removed it).
func removeStaleSemaphore(pidFile string) {
	pid, lines, err := readPIDFile(pidFile)
	if err != nil || !exited(pid) {
		return
	}
	if id, ok := lines[autoctlSemaphoreLine]; ok && id >= 0 {
		_, _, _ = unix.Syscall(unix.SYS_SEMCTL, uintptr(id), 0, unix.IPC_RMID)
	}
	_ = os.Remove(pidFile)
}
