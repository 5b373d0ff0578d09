package conform

import (
	"reflect"
)

// checkBatch queues sqlc's :many query name twice on a new Batch of the
// package (Package.Batch), with in's arguments (the context first, then
// the DB for emit_methods_with_db_argument), sends it on q's DB and fails
// unless both destinations hold want, the rows of the method itself. In
// the "pipeline" mode, where q's DB is Pipeline's (which refuses batches),
// it does nothing.
func checkBatch[R any](c *C, q any, name string, in []reflect.Value, want []R) {
	c.Helper()
	if c.batch == nil || c.Mode == "pipeline" {
		return
	}
	b := reflect.New(c.batch)
	m := b.MethodByName(name)
	if !m.IsValid() {
		return // one of pgkitgen's public methods (pgkit:public, nest), which Batch does not queue
	}
	send := b.MethodByName("Send")
	if !send.IsValid() {
		send = b.MethodByName("PgkitSend")
	}
	var args []reflect.Value
	var db reflect.Value
	if m.Type().NumIn() == len(in)-1 { // no context, no DB; a destination
		args, db = in[2:], in[1]
	} else {
		args, db = in[1:], reflect.ValueOf(dbOf(c, q))
	}
	// One destination starts empty, the other holds a stale row to be
	// overwritten: the Batch resets a slice before it appends.
	var first, second []R
	if len(want) > 0 {
		second = append(second, want[len(want)-1], want[0])
	}
	for _, dst := range []*[]R{&first, &second} {
		m.Call(append([]reflect.Value{reflect.ValueOf(dst)}, args...))
	}
	if err, _ := send.Call([]reflect.Value{in[0], db})[0].Interface().(error); err != nil {
		c.Fatalf("%s.%s then Send (%s): %v", c.batch, name, c.Mode, err)
	}
	for i, got := range [][]R{first, second} {
		if got == nil || !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
			c.Fatalf("%s.%s (%s), copy %d: %+v; the method returned %+v", c.batch, name, c.Mode, i+1, got, want)
		}
	}
}
