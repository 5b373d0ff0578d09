package conform

import (
	"context"
	"reflect"
)

// appendOf returns q's …Append of the :many method name, or an invalid
// Value when it has none (a public method of pgkitgen expand's, or a
// nest: only sqlc's own :many queries have one).
func appendOf(q any, name string) reflect.Value {
	return reflect.ValueOf(q).MethodByName(name + "Append")
}

// appendArgs are in (the :many's arguments, the context first) with dst
// after the context, as …Append takes them.
func appendArgs[R any](in []reflect.Value, dst []R) []reflect.Value {
	out := []reflect.Value{in[0], reflect.ValueOf(dst)}
	return append(out, in[1:]...)
}

// callAppend calls app with in and dst and returns its rows and error.
func callAppend[R any](c *C, app reflect.Value, name string, in []reflect.Value, dst []R) ([]R, error) {
	c.Helper()
	out := app.Call(appendArgs(in, dst))
	rows, ok := out[0].Interface().([]R)
	if !ok {
		c.Fatalf("%sAppend returns %s, not []%v", name, out[0].Type(), reflect.TypeFor[R]())
	}
	err, _ := out[1].Interface().(error)
	return rows, err
}

// checkAppend fails unless q's …Append of name (when it has one) gives
// got, the :many's rows: appended to a nil slice; after a row already in
// dst, into dst's own memory when its capacity suffices; again into that
// memory reused from [:0] (nothing of the earlier call's rows left in
// them); and on a cancelled context an error with dst at its length.
func checkAppend[R any](c *C, q any, name string, in []reflect.Value, got []R) {
	c.Helper()
	app := appendOf(q, name)
	if !app.IsValid() {
		return
	}
	same := func(what string, rows []R, want []R) {
		c.Helper()
		if len(rows) != len(want) {
			c.Fatalf("%sAppend (%s, %s): %d rows, %s %d", name, c.Mode, what, len(rows), name, len(want))
		}
		for i := range want {
			if !reflect.DeepEqual(rows[i], want[i]) {
				c.Fatalf("%sAppend (%s, %s): row %d is %+v, %s's %+v", name, c.Mode, what, i, rows[i], name, want[i])
			}
		}
	}
	rows, err := callAppend(c, app, name, in, []R(nil))
	if err != nil {
		c.Fatalf("%sAppend (%s): %v", name, c.Mode, err)
	}
	same("to nil", rows, got)

	var first R
	if len(got) > 0 {
		first = got[len(got)-1]
	}
	dst := append(make([]R, 0, len(got)+3), first)
	rows, err = callAppend(c, app, name, in, dst)
	if err != nil {
		c.Fatalf("%sAppend (%s, after a row): %v", name, c.Mode, err)
	}
	same("after a row", rows, append([]R{first}, got...))
	if &rows[0] != &dst[0] {
		c.Fatalf("%sAppend (%s): a slice with room for the rows was not appended to in place", name, c.Mode)
	}
	again, err := callAppend(c, app, name, in, rows[:0])
	if err != nil {
		c.Fatalf("%sAppend (%s, reused): %v", name, c.Mode, err)
	}
	same("reused", again, got)

	dead, cancel := context.WithCancel(c.Ctx)
	cancel()
	deadIn := append([]reflect.Value{reflect.ValueOf(dead)}, in[1:]...)
	rows, err = callAppend(c, app, name, deadIn, dst)
	if err == nil || len(rows) != len(dst) {
		c.Fatalf("%sAppend (%s) on a cancelled context: %d rows after %d, error %v; want the error and dst as it was", name, c.Mode, len(rows), len(dst), err)
	}
}

// checkAppendFails fails unless q's …Append of name (when it has one)
// fails as the :many did, returning dst at its length.
func checkAppendFails[R any](c *C, q any, name string, in []reflect.Value) {
	c.Helper()
	app := appendOf(q, name)
	if !app.IsValid() {
		return
	}
	var kept R
	dst := append(make([]R, 0, 8), kept)
	rows, err := callAppend(c, app, name, in, dst)
	if err == nil || len(rows) != 1 {
		c.Fatalf("%sAppend (%s): %d rows after 1 and error %v, want the :many's error and dst as it was", name, c.Mode, len(rows), err)
	}
}
