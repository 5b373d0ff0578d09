package main

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/internal/testshop"
	"github.com/shopdb/shopdb/pgkit"
)

// browser returns the path of a headless-capable Chromium, or "".
func browser() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// runBrowser runs Chromium headless on url with extra flags, in its own
// process group, which is killed afterwards so that no helper process
// outlives the test.
func runBrowser(t *testing.T, bin, url string, extra ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(),
	}, extra...)
	cmd := exec.CommandContext(ctx, bin, append(args, url)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Start()
	if err != nil {
		t.Fatal(err)
	}
	pgid := cmd.Process.Pid
	err = cmd.Wait()
	_ = syscall.Kill(-pgid, syscall.SIGKILL) // the renderer and other helpers
	if err != nil {
		t.Fatalf("%s: %v\n%s", bin, err, stderr.String())
	}
	return stdout.Bytes()
}

// TestPageInABrowser loads / in a real headless Chromium: the DOM it built
// shows the product's name, and its screenshot is a rendered page (not
// blank) with dark text where the heading is.
func TestPageInABrowser(t *testing.T) {
	bin := browser()
	if bin == "" {
		t.Skip("no headless browser installed: apt-get install -y chromium (make test does it when run as root)")
	}
	t.Parallel()
	s := newTestService(t, pgkit.Config{}, 5*time.Second)
	p := testshop.Must(db.New(s.pool).ProductGetByID(context.Background(), 1))(t)
	url := s.URL + "/?product=1&customer=1"

	dom := runBrowser(t, bin, url, "--dump-dom")
	if !bytes.Contains(dom, []byte(`<h1 id="product-name">`+p.Name+`</h1>`)) || !bytes.Contains(dom, []byte("Reviews")) {
		t.Fatalf("the browser's DOM lacks the product name %q:\n%s", p.Name, dom)
	}

	shot := filepath.Join(t.TempDir(), "page.png")
	runBrowser(t, bin, url, "--screenshot="+shot, "--window-size=1024,768", "--hide-scrollbars")
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1024 || b.Dy() != 768 {
		t.Fatalf("screenshot is %v, want 1024x768", b)
	}
	// The heading sits in the top band of the page, centred in 48rem: it
	// must have dark pixels (text), and the page as a whole must not be
	// one colour.
	if dark := darkPixels(img, image.Rect(0, 0, 1024, 120)); dark < 200 {
		t.Fatalf("only %d dark pixels where the product name should be", dark)
	}
	if dark := darkPixels(img, img.Bounds()); dark < 2000 {
		t.Fatalf("only %d dark pixels on the whole page: blank?", dark)
	}
	if os.Getenv("SHOPAPI_KEEP_SCREENSHOT") != "" {
		data, _ := os.ReadFile(shot)
		_ = os.WriteFile(os.Getenv("SHOPAPI_KEEP_SCREENSHOT"), data, 0o644)
	}
}

// darkPixels counts the pixels of r darker than mid-grey.
func darkPixels(img image.Image, r image.Rectangle) int {
	n := 0
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if (cr+cg+cb)/3 < 0x8000 {
				n++
			}
		}
	}
	return n
}
