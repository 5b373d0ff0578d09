package pgkit_test

import (
	"flag"
	"os"
	"runtime"
	"strconv"
	"testing"

	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// TestMain runs twice as many parallel tests at once as Go's default
// (GOMAXPROCS) unless -test.parallel says otherwise: these tests spend most
// of their time waiting (on the server, on timers, on cancels taking
// effect), so the default leaves the cores idle; on a 2-core machine this
// halves the package's run time.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		_ = flag.Set("test.parallel", strconv.Itoa(2*runtime.GOMAXPROCS(0)))
	}
	os.Exit(pgkittest.Run(m))
}
