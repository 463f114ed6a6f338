// The go kernel: one per go context, started by execd (plugins/go/context.ts). It keeps the
// context's imports and declarations, and runs each cell as a program: compiled with `go build`
// from everything kept plus the cell, then run with the context's cwd and environment.
//
// Protocol: requests on stdin, one JSON object a line ({"t":"run","c":N,"code":...},
// {"t":"stop","c":N}); replies on fd 3 ({"t":"ready"}, then per cell "result", "error", and
// "done" with the bytes written so far to stdout and stderr, so execd can tell when a cell's
// output has all arrived). A cell's stdout and stderr pass through the kernel's own.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

type config struct {
	Dir string   `json:"dir"` // the module the cells are compiled in
	Go  string   `json:"go"`
	Env []string `json:"env"` // added to the environment of `go build` only
	// The shared build cache (also in Env) and its bound in bytes (0: none), cache.go.
	Cache    string `json:"cache"`
	CacheMax int64  `json:"cacheMax"`
}

type request struct {
	T    string `json:"t"`
	C    int    `json:"c"`
	Code string `json:"code"`
}

// channel is fd 3, to execd.
type channel struct {
	mu sync.Mutex
	f  *os.File
}

func (ch *channel) send(m map[string]interface{}) {
	b, _ := json.Marshal(m)
	ch.mu.Lock()
	defer ch.mu.Unlock()
	ch.f.Write(append(b, '\n'))
}

// counted is the kernel's stdout or stderr, counting what was written.
type counted struct {
	mu sync.Mutex
	f  *os.File
	n  int64
}

func (w *counted) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.f.Write(p)
	atomic.AddInt64(&w.n, int64(n))
	return n, err
}

func (w *counted) count() int64 { return atomic.LoadInt64(&w.n) }

type kernel struct {
	cfg      config
	ch       *channel
	state    state
	locals   locals // names cells declared with :=, for the compile error that names one
	out, err *counted
	mu       sync.Mutex
	cur      *cellRun
	dir      moduleDir
	cache    cacheBound
	plan     *plan // the last build's compile and link, replay.go
}

func main() {
	var cfg config
	if len(os.Args) != 2 || json.Unmarshal([]byte(os.Args[1]), &cfg) != nil {
		fmt.Fprintln(os.Stderr, "usage: kernel '{\"dir\":...,\"go\":...,\"env\":[...]}'")
		os.Exit(2)
	}
	// fd 3 is execd's: not for go build nor for what a cell starts.
	syscall.CloseOnExec(3)
	k := &kernel{
		cfg:   cfg,
		ch:    &channel{f: os.NewFile(3, "execd")},
		out:   &counted{f: os.Stdout},
		err:   &counted{f: os.Stderr},
		dir:   moduleDir{fd: -1},
		cache: cacheBound{dir: cfg.Cache, max: cfg.CacheMax},
	}
	if err := k.openDir(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := k.writeSupport(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	k.ch.send(map[string]interface{}{"t": "ready"})
	in := bufio.NewReaderSize(os.Stdin, 1<<16)
	// One cell at a time, in order (execd sends the next only after done).
	jobs := make(chan request, 64)
	worked := make(chan struct{})
	go func() {
		defer close(worked)
		for r := range jobs {
			run := &cellRun{id: r.C}
			k.mu.Lock()
			k.cur = run
			k.mu.Unlock()
			k.run(run, r.Code)
		}
	}()
	for {
		line, err := in.ReadBytes('\n')
		var r request
		if len(line) > 0 && json.Unmarshal(line, &r) == nil {
			switch r.T {
			case "run":
				jobs <- r
			case "stop":
				k.mu.Lock()
				if k.cur != nil && k.cur.id == r.C {
					k.cur.stop()
				}
				k.mu.Unlock()
			}
		}
		if err != nil { // execd closed the context
			k.mu.Lock()
			if k.cur != nil {
				k.cur.stop()
			}
			k.mu.Unlock()
			close(jobs)
			<-worked
			return
		}
	}
}

// writeSupport puts the support file in the module, again if a cell removed it or put
// something else in its place (execd re-creates the module's directory and go.mod before each
// cell). A symlink there is replaced, not followed: a dangling one failed every later cell.
func (k *kernel) writeSupport() error {
	p := k.path("execd.go")
	if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() {
		if b, err := os.ReadFile(p); err == nil && string(b) == support {
			return nil
		}
	}
	if err := os.RemoveAll(p); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(support); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (k *kernel) send(r *cellRun, m map[string]interface{}) {
	m["c"] = r.id
	k.ch.send(m)
}

func (k *kernel) sendError(r *cellRun, ename, evalue string, traceback []string) {
	if traceback == nil {
		traceback = []string{}
	}
	k.send(r, map[string]interface{}{"t": "error", "ename": ename, "evalue": evalue, "traceback": traceback})
}

// run compiles and runs one cell, then says done.
func (k *kernel) run(r *cellRun, code string) {
	defer func() {
		k.send(r, map[string]interface{}{"t": "done", "out": k.out.count(), "err": k.err.count()})
	}()
	if strings.TrimSpace(code) == "%reset" { // gonb's: forget every declaration
		k.state, k.locals = state{}, nil
		return
	}
	c, errs := parseCell(code, r.id)
	if errs != nil {
		errs = firstErrors(errs)
		k.sendError(r, "CompilationError", joinLines(errs), errs)
		return
	}
	if len(c.imports) == 0 && len(c.units) == 0 && !c.runs {
		return
	}
	if err := k.openDir(); err != nil {
		k.sendError(r, "RuntimeError", err.Error(), []string{err.Error()})
		return
	}
	if err := k.writeSupport(); err != nil {
		k.sendError(r, "CompilationError", err.Error(), []string{err.Error()})
		return
	}
	merged, errs, interrupted := k.compile(r, c)
	// Before the program runs, which may take as long as it likes: the look is over when the
	// cell is (a trim waits for other kernels' builds, not for this cell's program).
	if !interrupted {
		k.cache.look()
	}
	// Looked at again before anything is said of the build or run: a build in a dir that was
	// removed fails, and its errors would only mislead.
	if err := k.dirIntact(); err != nil && !interrupted {
		k.sendError(r, "RuntimeError", err.Error(), []string{err.Error()})
		return
	}
	if interrupted {
		k.sendError(r, "KeyboardInterrupt", "interrupted while compiling", []string{"the cell was interrupted while compiling"})
		return
	}
	if errs != nil {
		errs = k.locals.explain(errs)
		k.sendError(r, "CompilationError", joinLines(errs), errs)
		return
	}
	// What compiled is kept, whatever happens when it runs (as gonb does).
	k.state = merged
	k.locals.note(c)
	if c.runs {
		k.exec(r, c.args)
	}
}

// joinLines joins at once: adding line by line copied all before each, quadratic in the lines.
func joinLines(lines []string) string {
	return strings.Join(lines, "\n")
}
