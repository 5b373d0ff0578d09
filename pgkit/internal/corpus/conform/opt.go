package conform

import (
	"context"
	"reflect"
)

// Opt calls q's zero-or-one method name (pgkitgen's :opt, returning
// (Row, bool, error)) with args, the context first, and fails the step
// unless it returns no error; it returns the row and whether there was
// one. A method that found no row must return its zero row with false.
// Opt then calls it again on a cancelled context, which must be an error:
// only a missing row is false without one.
func Opt[R any](c *C, q any, name string, args ...any) (R, bool) {
	c.Helper()
	m := reflect.ValueOf(q).MethodByName(name)
	if !m.IsValid() {
		c.Fatalf("%T has no method %s", q, name)
	}
	if m.Type().NumOut() != 3 || m.Type().Out(1).Kind() != reflect.Bool {
		c.Fatalf("%s returns %v, not (Row, bool, error)", name, m.Type())
	}
	in := make([]reflect.Value, len(args))
	for i, a := range args {
		in[i] = reflect.ValueOf(a)
		if a == nil {
			in[i] = reflect.Zero(m.Type().In(i))
		}
	}
	out := m.Call(in)
	if err, _ := out[2].Interface().(error); err != nil {
		c.Fatalf("%s (%s): %v", name, c.Mode, err)
	}
	row, ok := out[0].Interface().(R)
	if !ok {
		c.Fatalf("%s returns %s, not %v", name, out[0].Type(), reflect.TypeFor[R]())
	}
	found := out[1].Bool()
	if !found && !out[0].IsZero() {
		c.Fatalf("%s (%s): false with a non-zero row %+v", name, c.Mode, row)
	}
	dead, cancel := context.WithCancel(c.Ctx)
	cancel()
	in[0] = reflect.ValueOf(dead)
	out = m.Call(in)
	if err, _ := out[2].Interface().(error); err == nil || out[1].Bool() {
		c.Fatalf("%s (%s) on a cancelled context: found %v, error %v; want an error", name, c.Mode, out[1].Bool(), err)
	}
	return row, found
}
