package pgtemp

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sys/unix"
)

// TestFormationKillPostmaster: the primary's postmaster killed with
// SIGKILL, the formation takes writes again through URL() (on whichever
// node pg_auto_failover chose; its keeper restarts it within a second or
// so, before the monitor fails over) and becomes whole again, every
// acknowledged write on both nodes. The StartFormation of this test also
// removes the directory of a formation whose owner died, and kills what
// still ran in it.
func TestFormationKillPostmaster(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	stale, leftover := staleFormationDir(t)
	f := startFormation(t, ctx, FormationConfig{})
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the directory of a dead owner's formation %s was kept (%v)", stale, err)
	}
	if !exited(leftover) {
		t.Errorf("process %d running in the dead owner's formation was not killed", leftover)
	}

	write(t, ctx, f.URL(), 1)
	old, err := f.nodes[0].postmasterPID()
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	if err := f.KillPostmaster(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if !exited(old) {
		t.Fatalf("postmaster %d still runs after KillPostmaster", old)
	}
	node, at, err := f.WaitPrimary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("kill -9 of the primary's postmaster: node %d accepts writes after %s", node, at.Sub(began).Round(time.Millisecond))
	// The monitor may still fail over (on the keeper's report that
	// postgres was down, once it is up again): writes are asserted once
	// the fault has played out.
	if err := f.WaitSecondary(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("kill -9 of the primary's postmaster: whole again after %s", time.Since(began).Round(time.Millisecond))
	write(t, ctx, f.URL(), 2)
	for i := range 2 {
		waitValues(t, ctx, f, i, []int{1, 2})
	}
	if err := f.KillPostmaster(ctx, 2); err == nil {
		t.Error("KillPostmaster(2) succeeded; want an error: there are nodes 0 and 1")
	}
}

// staleFormationDir makes the directory of a formation whose owner has
// died, with a process still running in it, and returns both.
func staleFormationDir(t *testing.T) (string, int) {
	t.Helper()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp(parentDir(), formationPrefix+"*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(dead.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	sleeper := exec.Command("sleep", "300")
	sleeper.Dir = dir
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	go sleeper.Wait() // reaps it once killed
	t.Cleanup(func() { _ = sleeper.Process.Kill() })
	return dir, sleeper.Process.Pid
}

// TestFormationKillNodeAndRestart: the primary's machine lost (keeper,
// postmaster and backends killed), the monitor promotes the standby and
// writes through URL() work again; the old primary restarted rejoins as
// the secondary with every write. Then the standby's machine is lost: the
// primary takes writes again without it (wait_primary); restarted, it
// rejoins. Last, a node killed and left dead: Stop still ends everything,
// and removes the semaphore its killed pg_autoctl left.
func TestFormationKillNodeAndRestart(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f := startFormation(t, ctx, FormationConfig{Database: "app"})
	write(t, ctx, f.URL(), 1)

	began := time.Now()
	if err := f.KillNode(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if left := processesIn(filepath.Join(f.Dir(), "node0")); len(left) > 0 {
		t.Fatalf("processes %v of node 0 still run after KillNode", left)
	}
	if c, err := pgx.Connect(ctx, f.NodeURL(0)); err == nil {
		c.Close(ctx)
		t.Fatal("node 0 accepts connections after KillNode")
	}
	node, at, err := f.WaitPrimary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if node != 1 {
		t.Fatalf("after losing node 0, node %d accepts writes; want node 1", node)
	}
	t.Logf("primary lost: node 1 accepts writes after %s", at.Sub(began).Round(time.Millisecond))
	write(t, ctx, f.URL(), 2)
	if err := f.RestartNode(ctx, 1); err == nil {
		t.Error("RestartNode of a running node succeeded; want an error")
	}
	restarted := time.Now()
	if err := f.RestartNode(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.WaitSecondary(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("old primary restarted: secondary in sync after %s", time.Since(restarted).Round(time.Millisecond))
	if p, err := f.Primary(ctx); err != nil || p != 1 {
		t.Fatalf("Primary: %d, %v; want node 1", p, err)
	}
	waitValues(t, ctx, f, 0, []int{1, 2})

	// The standby lost: commits wait for it until the monitor lets the
	// primary go on alone.
	began = time.Now()
	if err := f.KillNode(ctx, 0); err != nil {
		t.Fatal(err)
	}
	node, at, err = f.WaitPrimary(ctx)
	if err != nil || node != 1 {
		t.Fatalf("after losing the standby: node %d, %v; want node 1 to accept writes", node, err)
	}
	t.Logf("standby lost: the primary accepts writes again after %s", at.Sub(began).Round(time.Millisecond))
	write(t, ctx, f.URL(), 3)
	restarted = time.Now()
	if err := f.RestartNode(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.WaitSecondary(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("standby restarted: in sync after %s", time.Since(restarted).Round(time.Millisecond))
	waitValues(t, ctx, f, 0, []int{1, 2, 3})

	// Left dead for Stop, which must leave no process and no directory,
	// and remove the semaphore the killed pg_autoctl left.
	_, lines, err := readPIDFile(f.nodes[0].pidFile())
	if err != nil {
		t.Fatal(err)
	}
	sem := lines[autoctlSemaphoreLine]
	if err := f.KillNode(ctx, 0); err != nil {
		t.Fatal(err)
	}
	stopFormation(t, f) // again in the cleanup: Stop is safe to call twice
	const getval = 12   // semctl's GETVAL on Linux: the value, or EINVAL when there is no such semaphore
	_, _, errno := unix.Syscall(unix.SYS_SEMCTL, uintptr(sem), 0, getval)
	if errno == 0 {
		t.Errorf("semaphore %d of node 0's killed pg_autoctl is still there after Stop", sem)
	} else if !errors.Is(errno, unix.EINVAL) && !errors.Is(errno, unix.EIDRM) {
		t.Errorf("semaphore %d: %v", sem, errno)
	}
	// After Stop, faults and waits fail at once.
	if err := f.RestartNode(ctx, 0); !errors.Is(err, errStopped) {
		t.Errorf("RestartNode after Stop: %v, want %v", err, errStopped)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := f.WaitSecondary(short); !errors.Is(err, errStopped) {
		t.Errorf("WaitSecondary after Stop: %v, want %v", err, errStopped)
	}
	if _, _, err := f.WaitPrimary(short); !errors.Is(err, errStopped) {
		t.Errorf("WaitPrimary after Stop: %v, want %v", err, errStopped)
	}
}
