package pgtemp

// The initdb cache. initdb costs most of a throwaway server's start (about
// 0.8 s of CPU against 0.2 s to copy its result), and a test run starts a
// server per test binary: so the first initdb of a given set of binaries is
// kept in the user's cache folder and later servers start from a copy.
// Nothing here is a library's job; a copy of a directory tree with its
// owner set is a few lines.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// initArgs are the arguments of every initdb pgtemp runs: the superuser
// postgres, trust authentication (the servers listen on 127.0.0.1 only),
// UTF8 and the C locale.
var initArgs = []string{"-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"}

// initCluster makes a new cluster in data (which must not exist), owned by
// cred (nil: the current user): a copy of the cached one when there is
// one, else initdb's, then kept in the cache.
func initCluster(ctx context.Context, binDir, data string, cred *syscall.Credential) error {
	cache := cacheFor(binDir, initArgs)
	if cache.restore(data, cred) {
		return nil
	}
	initdb := exec.CommandContext(ctx, filepath.Join(binDir, "initdb"), append([]string{"-D", data}, initArgs...)...)
	initdb.Dir = filepath.Dir(data)
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("pgtemp: initdb: %w: %s", err, lastLines(string(out), 5))
	}
	cache.save(data)
	return nil
}

// initCache is where the cluster initdb made for one set of binaries and
// arguments is kept, or the zero value when there is no cache folder.
type initCache struct {
	dir string // holds data/, the cluster; empty: no cache
}

// cacheFor returns the cache entry for initdb in binDir run with args. Its
// key changes with the binaries (path, size, modification time) and the
// arguments, so an upgraded PostgreSQL gets a fresh cluster.
func cacheFor(binDir string, args []string) initCache {
	root, err := os.UserCacheDir()
	if err != nil {
		return initCache{}
	}
	st, err := os.Stat(filepath.Join(binDir, "initdb"))
	if err != nil {
		return initCache{}
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%d\x00%s", binDir, st.Size(), st.ModTime().UnixNano(), strings.Join(args, "\x00"))
	return initCache{dir: filepath.Join(root, "pgtemp", "initdb-"+hex.EncodeToString(h.Sum(nil))[:16])}
}

// restore copies the cached cluster to data, owned by cred (nil: the
// current user), and reports whether there was one.
func (c initCache) restore(data string, cred *syscall.Credential) bool {
	if c.dir == "" {
		return false
	}
	src := filepath.Join(c.dir, "data")
	if _, err := os.Stat(filepath.Join(src, "PG_VERSION")); err != nil {
		// No entry, or a damaged one (folders appear whole, by rename):
		// removed, so that this start's initdb saves a good one.
		_ = os.RemoveAll(c.dir)
		return false
	}
	if err := copyTree(src, data, cred); err != nil {
		_ = os.RemoveAll(data) // initdb makes it afresh
		return false
	}
	return true
}

// save keeps a copy of the cluster in data, unless another process has
// already. It is written to a folder of its own and renamed into place, so
// a reader never sees half of it. Failing to save only costs the next
// start an initdb.
func (c initCache) save(data string) {
	if c.dir == "" {
		return
	}
	if _, err := os.Stat(c.dir); err == nil {
		return
	}
	parent := filepath.Dir(c.dir)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return
	}
	tmp, err := os.MkdirTemp(parent, "tmp-")
	if err != nil {
		return
	}
	if err := copyTree(data, filepath.Join(tmp, "data"), nil); err != nil || os.Rename(tmp, c.dir) != nil {
		_ = os.RemoveAll(tmp) // a failed copy, or another process's came first
	}
}

// copyTree copies the directory tree src to dst (which must not exist),
// keeping permissions, with every entry owned by cred when it is set. The
// top folder gets 0700, which the server demands of a data directory.
func copyTree(src, dst string, cred *syscall.Credential) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			mode := info.Mode().Perm()
			if rel == "." {
				mode = 0o700
			}
			if err := os.Mkdir(target, mode); err != nil {
				return err
			}
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			if err := os.Symlink(link, target); err != nil {
				return err
			}
		case d.Type().IsRegular():
			if err := copyFile(path, target, info.Mode().Perm()); err != nil {
				return err
			}
		default:
			return fmt.Errorf("pgtemp: %s: not a file or folder", path)
		}
		if cred != nil {
			return os.Lchown(target, int(cred.Uid), int(cred.Gid))
		}
		return nil
	})
}

// copyFile copies the regular file src to a new file dst with mode.
func copyFile(src, dst string, mode fs.FileMode) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, out.Close()) }()
	_, err = io.Copy(out, in)
	return err
}
