package rss

import (
	"runtime"
	"strings"
	"testing"
)

func TestPeakGrowsWithMemoryTouched(t *testing.T) {
	before, ok := Peak()
	if !ok {
		t.Skip("no /proc/self/status on this system")
	}
	buf := make([]byte, 64<<20)
	for i := range buf {
		if i%4096 == 0 {
			buf[i] = 1
		}
	}
	after, _ := Peak()
	runtime.KeepAlive(buf)
	if after < before+48<<20 {
		t.Fatalf("peak RSS %d MB after touching 64 MB, %d MB before", after>>20, before>>20)
	}
	if s := PeakMB(); !strings.HasPrefix(s, "peak RSS ") || !strings.HasSuffix(s, " MB") {
		t.Fatalf("PeakMB() = %q", s)
	}
}
