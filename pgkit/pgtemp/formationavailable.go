package pgtemp

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// installAutoFailover says how to get pg_auto_failover for the server
// binaries in binDir, for errors: Debian's packages, the extension's for
// their major version (15 when binDir does not tell).
func installAutoFailover(binDir string) string {
	major := versionOf(binDir)
	if major <= 0 {
		major = 15
	}
	return fmt.Sprintf("install it with `apt-get install -y pg-auto-failover-cli postgresql-%d-auto-failover`, "+
		"or run `make test` as root, which does", major)
}

// FormationAvailable returns nil when StartFormation can run here, and
// otherwise why not, saying what to install: the server binaries,
// pg_autoctl, the pgautofailover extension of those binaries' major
// version, and, as root, the postgres OS user. Tests that need a
// formation skip with its message.
func FormationAvailable() error {
	binDir, err := FindBinDir("")
	if err != nil {
		return err
	}
	if _, err := autoctlAvailable(binDir); err != nil {
		return err
	}
	_, err = credential()
	return err
}

// serverDirs returns the folders of the server's loadable modules and of
// its shared files (extension/), from pg_config next to the binaries,
// else Debian's layout (/usr/lib/postgresql/N/bin → /usr/lib/postgresql/N/lib
// and /usr/share/postgresql/N).
func serverDirs(binDir string) (lib, share string) {
	if out, err := exec.Command(filepath.Join(binDir, "pg_config"), "--pkglibdir", "--sharedir").Output(); err == nil {
		if f := strings.Fields(string(out)); len(f) == 2 {
			return f[0], f[1]
		}
	}
	major := filepath.Base(filepath.Dir(binDir))
	return filepath.Join(filepath.Dir(binDir), "lib"), filepath.Join("/usr/share/postgresql", major)
}

// autoctlAvailable returns the pg_autoctl binary, or why a formation
// cannot run with the server binaries of binDir.
func autoctlAvailable(binDir string) (string, error) {
	bin := AutoctlBin
	if p, err := exec.LookPath("pg_autoctl"); err == nil {
		bin = p
	}
	if _, err := os.Stat(bin); err != nil {
		return "", errors.New("pgtemp: pg_autoctl not found: " + installAutoFailover(binDir))
	}
	lib, share := serverDirs(binDir)
	for _, p := range []string{filepath.Join(lib, "pgautofailover.so"), filepath.Join(share, "extension", "pgautofailover.control")} {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("pgtemp: the pgautofailover extension of the server in %s is missing (%s): %s", binDir, p, installAutoFailover(binDir))
		}
	}
	return bin, nil
}
