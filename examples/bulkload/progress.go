package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress shows how far a load is: a progress bar on a terminal
// (schollz/progressbar: rows, rows/s, ETA), plain log lines every few
// seconds otherwise. Its methods are safe on a nil *progress.
type progress struct {
	rows, bytes atomic.Int64
	total       int64  // of unit; -1 unknown
	unit        string // "rows" or "bytes"
	start       time.Time
	done        chan struct{}
	wg          sync.WaitGroup
}

// logEvery is how often the log display writes a line.
const logEvery = 2 * time.Second

func startProgress(mode string, w io.Writer, total int64, unit string) *progress {
	if mode == "auto" {
		mode = "log"
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			mode = "bar"
		}
	}
	if mode == "none" {
		return nil
	}
	p := &progress{total: total, unit: unit, start: time.Now(), done: make(chan struct{})}
	p.wg.Add(1)
	if mode == "bar" {
		go p.bar(w)
	} else {
		go p.logLines(w)
	}
	return p
}

func (p *progress) addRows(n int64) {
	if p != nil {
		p.rows.Add(n)
	}
}

func (p *progress) addBytes(n int64) {
	if p != nil {
		p.bytes.Add(n)
	}
}

// stop ends the display, with a last update.
func (p *progress) stop() {
	if p == nil {
		return
	}
	close(p.done)
	p.wg.Wait()
}

// current is the progress in the display's unit.
func (p *progress) current() int64 {
	if p.unit == "bytes" {
		return p.bytes.Load()
	}
	return p.rows.Load()
}

func (p *progress) bar(w io.Writer) {
	defer p.wg.Done()
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("loading"),
		progressbar.OptionThrottle(100 * time.Millisecond),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionFullWidth(),
	}
	if p.unit == "bytes" {
		opts = append(opts, progressbar.OptionShowBytes(true))
	} else {
		opts = append(opts, progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("rows"))
	}
	bar := progressbar.NewOptions64(p.total, opts...)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-p.done:
			_ = bar.Set64(p.current())
			_ = bar.Finish()
			fmt.Fprintln(w)
			return
		case <-tick.C:
			_ = bar.Set64(p.current())
			bar.Describe(fmt.Sprintf("loading (%d rows)", p.rows.Load()))
		}
	}
}

func (p *progress) logLines(w io.Writer) {
	defer p.wg.Done()
	tick := time.NewTicker(logEvery)
	defer tick.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-tick.C:
			elapsed := time.Since(p.start)
			rows := p.rows.Load()
			line := fmt.Sprintf("bulkload: %d rows, %.0f rows/s", rows, float64(rows)/elapsed.Seconds())
			if cur := p.current(); p.total > 0 && cur > 0 {
				eta := time.Duration(float64(elapsed) * float64(p.total-cur) / float64(cur))
				line += fmt.Sprintf(", %.0f%%, ETA %s", 100*float64(cur)/float64(p.total), eta.Round(time.Second))
			}
			fmt.Fprintln(w, line)
		}
	}
}
