package main

// Compiling a cell and running its program, each in a process group of its own, so that a
// stop (execd's interrupt) ends it and whatever it started, and the kernel lives on.

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// maxResults is what a cell's results (its value, a panic) may hold; more is dropped.
const maxResults = 4 << 20

// cellRun is the cell being compiled or run, and the process group doing it.
type cellRun struct {
	id      int
	mu      sync.Mutex
	stopped bool
	pgid    int
}

// stop interrupts the group (SIGINT, as a terminal's ^C), then kills it a second later.
func (r *cellRun) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	pgid := r.pgid
	if pgid == 0 {
		return
	}
	syscall.Kill(-pgid, syscall.SIGINT)
	time.AfterFunc(time.Second, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.pgid == pgid { // not a group that ended and whose id was reused
			syscall.Kill(-pgid, syscall.SIGKILL)
		}
	})
}

func (r *cellRun) isStopped() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stopped
}

// start starts cmd in a new process group, unless the cell was stopped.
func (r *cellRun) start(cmd *exec.Cmd) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return errStopped
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	r.pgid = cmd.Process.Pid
	return nil
}

func (r *cellRun) ended() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pgid = 0
}

type stoppedError struct{}

func (stoppedError) Error() string { return "stopped" }

var errStopped = stoppedError{}

const maxAttempts = 8

// compile builds the cell's program, retrying after the compiler's complaints that a notebook
// should not have to care about (unused imports and variables, a last call without one value).
func (k *kernel) compile(r *cellRun, c *cell) (m state, errs []string, interrupted bool) {
	o := options{show: c.show, blank: map[string]bool{}, unused: map[int]bool{}}
	// go build's work dir, here rather than in TMPDIR and removed after each build: a build
	// ended by an interrupt does not remove its own, and every interrupted cell left one in
	// TMPDIR for good.
	work := k.path("build-tmp")
	defer os.RemoveAll(work)
	// Not the last cell's program, were this build's never to be placed.
	os.Remove(k.path("cell"))
	for attempt := 0; ; attempt++ {
		m = k.state.merged(c)
		if err := k.dirIntact(); err != nil {
			return m, []string{err.Error()}, false
		}
		main := source(m, c, o)
		if err := os.WriteFile(k.path("main.go"), main, 0o600); err != nil {
			return m, []string{err.Error()}, false
		}
		var out bytes.Buffer
		os.RemoveAll(work)
		if err := os.Mkdir(work, 0o700); err != nil {
			return m, []string{err.Error()}, false
		}
		// go build finds its module from PWD (when it names the cwd) and reads and writes by
		// paths below it: the held dir's, not its name's.
		env := append(append(os.Environ(), k.cfg.Env...), "GOTMPDIR="+work, "PWD="+k.dir.at)
		key := k.buildKey(main)
		var err error
		if p := k.plan; key != "" && p != nil && p.key == key {
			built := k.cache.building()
			var how replayed
			how, err = k.replay(r, p, work, env, &out)
			built()
			switch how {
			case replayBuilt:
				return m, nil, false
			case replayStopped:
				return m, nil, true
			case replayUnusable:
				k.plan = nil
				out.Reset()
				os.RemoveAll(work)
				if err := os.Mkdir(work, 0o700); err != nil {
					return m, []string{err.Error()}, false
				}
			}
		}
		// A replayed compile or link that failed has its exit in err, and out says why.
		if err == nil {
			err = k.goBuild(r, key, env, &out)
		}
		if r.isStopped() {
			return m, nil, true
		}
		if err == nil {
			return m, nil, false
		}
		if _, ok := err.(*exec.ExitError); !ok {
			return m, []string{"go build: " + err.Error()}, false
		}
		errs = compileErrors(out.String())
		if len(errs) == 0 {
			errs = []string{"go build: " + err.Error()}
		}
		if attempt == maxAttempts || !learn(c, errs, &o) {
			return m, errs, false
		}
	}
}

// goBuild builds the cell with the go command; when the plan for key is not known, with the
// commands shown and its work dir kept, to learn it. A learning build that failed is run again
// without: its errors would be mixed with the commands.
func (k *kernel) goBuild(r *cellRun, key string, env []string, out *bytes.Buffer) error {
	learning := key != "" && (k.plan == nil || k.plan.key != key)
	for {
		args := []string{"build", "-buildvcs=false", "-ldflags=-s -w", "-o", "cell", "."}
		if learning {
			args = append([]string{"build", "-x", "-work"}, args[1:]...)
		}
		cmd := exec.Command(k.cfg.Go, args...)
		cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = k.dir.at, env, out, out
		built := k.cache.building()
		err := r.start(cmd)
		if err == nil {
			err = cmd.Wait()
			r.ended()
		}
		built()
		if learning && err == nil {
			k.plan = learnPlan(key, out.String(), k.dir.at)
			out.Reset()
		}
		if !learning || err == nil || r.isStopped() {
			return err
		}
		learning = false
		out.Reset()
	}
}

const stderrTail = 16 << 10

// exec runs the compiled program and reports how it ended.
func (k *kernel) exec(r *cellRun, args []string) {
	cmd := exec.Command(k.path("cell"), args...)
	// Its own name as before: the dir's, not the descriptor's the kernel runs it through.
	cmd.Args[0] = k.cfg.Dir + "/cell"
	outR, outW, _ := os.Pipe()
	errR, errW, _ := os.Pipe()
	resR, resW, _ := os.Pipe()
	cmd.Stdout, cmd.Stderr, cmd.ExtraFiles = outW, errW, []*os.File{resW}
	tail := &tailWriter{max: stderrTail}
	copies := make(chan struct{}, 2)
	go func() { io.Copy(k.out, outR); copies <- struct{}{} }()
	go func() { io.Copy(io.MultiWriter(k.err, tail), errR); copies <- struct{}{} }()
	resultsRead := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(resR, maxResults))
		// The rest is read and dropped: left in the pipe, it blocked the cell's write of its
		// value (for minutes, until the pipe's file was collected).
		io.Copy(io.Discard, resR)
		resultsRead <- b
	}()
	err := r.start(cmd)
	outW.Close()
	errW.Close()
	resW.Close()
	if err == errStopped {
		k.sendError(r, "KeyboardInterrupt", "interrupted", []string{"the cell was interrupted before it ran"})
		return
	}
	if err != nil {
		k.sendError(r, "ExecError", err.Error(), []string{err.Error()})
		return
	}
	err = cmd.Wait()
	r.ended()
	// The pipes end with the program, unless something it started still holds them: its
	// output then goes on streaming, but this cell is over.
	deadline := time.After(500 * time.Millisecond)
	for i := 0; i < 2; i++ {
		select {
		case <-copies:
		case <-deadline:
			i = 2
		}
	}
	var results []byte
	select {
	case results = <-resultsRead:
	case <-deadline:
	}
	var panicked []string
	// A value cut at the limit fails to unquote: an error says so (it was an empty result).
	tooLarge := len(results) >= maxResults
	for _, line := range strings.Split(string(results), "\n") {
		fields := strings.Split(line, "\t")
		whole := true
		for i := 1; i < len(fields); i++ {
			var err error
			if fields[i], err = strconv.Unquote(fields[i]); err != nil {
				whole = false
			}
		}
		switch {
		case fields[0] == "result" && len(fields) == 2 && whole:
			k.send(r, map[string]interface{}{"t": "result", "text": fields[1]})
		case fields[0] == "panic" && len(fields) == 3:
			panicked = fields
		}
	}
	switch {
	case panicked != nil:
		lines := append([]string{"panic: " + panicked[1], ""}, panicStack(panicked[2])...)
		k.sendError(r, "panic", panicked[1], lines)
	case tooLarge && err == nil:
		why := "the cell's value is over 4 MiB: it was not kept (print it, or write it to a file)"
		k.sendError(r, "ValueTooLarge", why, []string{why})
	case err == nil:
	case r.isStopped():
		k.sendError(r, "KeyboardInterrupt", "interrupted", []string{err.Error()})
	default:
		if ename, evalue, lines := crashOf(tail.String()); ename != "" {
			k.sendError(r, ename, evalue, lines)
			return
		}
		k.sendError(r, "ExitError", err.Error(), []string{err.Error()})
	}
}

// panicStack is debug.Stack() taken in the deferred recover, from the frame that panicked on.
func panicStack(stack string) []string {
	lines := strings.Split(strings.TrimRight(stack, "\n"), "\n")
	for i := 1; i+1 < len(lines); i += 2 {
		if strings.HasPrefix(lines[i], "panic(") {
			return append(lines[:1:1], lines[i+2:]...)
		}
	}
	return lines
}

// crashOf finds what the Go runtime printed when the program died of a panic outside main's
// goroutine, or of a fatal error (a deadlock): its name, message, and the lines from there on.
func crashOf(stderr string) (ename, evalue string, lines []string) {
	all := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	for i := len(all) - 1; i >= 0; i-- {
		for _, prefix := range []string{"panic: ", "fatal error: "} {
			if strings.HasPrefix(all[i], prefix) {
				evalue = strings.TrimSuffix(strings.TrimPrefix(all[i], prefix), " [recovered]")
				lines = all[i:]
				if len(lines) > 200 {
					lines = lines[:200]
				}
				return strings.TrimSuffix(prefix, ": "), evalue, lines
			}
		}
	}
	return "", "", nil
}

// tailWriter keeps the last bytes written to it.
type tailWriter struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailWriter) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
