package pgkittest

import (
	"fmt"
	"testing"
)

// ExampleTB lets a runnable example, which gets no *testing.T, take a fresh
// database with URL or New: its Fatalf panics (an example has no test to
// fail) and the cleanups run, last registered first, when the example
// calls Done.
//
//	tb := &pgkittest.ExampleTB{}
//	defer tb.Done()
//	pool := pgkittest.New(tb, migrations)
type ExampleTB struct {
	testing.TB
	cleanups []func()
}

// Helper does nothing.
func (e *ExampleTB) Helper() {}

// Failed reports false: a failure has panicked.
func (e *ExampleTB) Failed() bool { return false }

// Logf discards the message.
func (e *ExampleTB) Logf(string, ...any) {}

// Cleanup registers f for Done.
func (e *ExampleTB) Cleanup(f func()) { e.cleanups = append(e.cleanups, f) }

// Fatalf panics with the message.
func (e *ExampleTB) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

// Done runs the cleanups, last registered first.
func (e *ExampleTB) Done() {
	for i := len(e.cleanups) - 1; i >= 0; i-- {
		e.cleanups[i]()
	}
	e.cleanups = nil
}
