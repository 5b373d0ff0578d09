// Package rss reads the process's peak resident set size, which the
// example programs print with their throughput.
package rss

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// Peak returns the process's peak resident set size in bytes (VmHWM of
// /proc/self/status), or false where /proc is not there.
func Peak() (int64, bool) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}

// PeakMB formats Peak for a summary line: "peak RSS 21 MB", or "" when
// unknown.
func PeakMB() string {
	n, ok := Peak()
	if !ok {
		return ""
	}
	return "peak RSS " + strconv.FormatInt(n>>20, 10) + " MB"
}
