package main

// A warm cell's build without the go command. Of a `1 + 1` cell's `go build` (~420 ms of CPU,
// go1.19), the compile and the link are ~230 ms; the rest is the go command loading the
// standard library's packages and hashing their sources to find them up to date, again for
// every cell. When a cell imports what the last build imported (the standard library only), the
// kernel runs that build's compile and link itself, with the command lines and import configs
// the go command chose for it (learned from its `-x -work`). Anything else — an import from a
// module or from the cell's own module, cgo, embed, another source file in the module, a changed
// go.mod, go.sum or go env file, a package file the cache's trim took — goes through `go build`.

import (
	"bytes"
	"crypto/sha256"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// plan is a learned build: its command lines and import configs, with the go command's work
// dir written as $WORK.
type plan struct {
	key           string
	compile, link []string
	configs       map[string]string // b001/importcfg and b001/importcfg.link
}

// sourceExt are the names go build compiles or links from a package's dir (go/build's list).
var sourceExt = map[string]bool{".go": true, ".c": true, ".h": true, ".s": true, ".S": true, ".cc": true,
	".cpp": true, ".cxx": true, ".hh": true, ".hpp": true, ".hxx": true, ".f": true, ".F": true, ".for": true,
	".f90": true, ".m": true, ".swig": true, ".swigcxx": true, ".syso": true}

// buildKey is what decides a build's commands besides main.go's body; "" when it cannot be replayed.
func (k *kernel) buildKey(main []byte) string {
	f, err := parser.ParseFile(token.NewFileSet(), "main.go", main, parser.ImportsOnly)
	if err != nil {
		return ""
	}
	h := sha256.New()
	h.Write([]byte(k.dir.at + "\n"))
	for _, im := range f.Imports {
		path, _ := strconv.Unquote(im.Path.Value)
		if path == "C" || path == "embed" {
			return ""
		}
		h.Write([]byte(path + "\n"))
	}
	entries, err := os.ReadDir(k.dir.at)
	if err != nil {
		return ""
	}
	for _, e := range entries {
		switch name := e.Name(); name {
		case "main.go", "cell", "build-tmp":
		case "execd.go", "go.mod", "go.sum":
			b, err := os.ReadFile(k.path(name))
			if err != nil || !e.Type().IsRegular() {
				return ""
			}
			h.Write([]byte(name + "\n" + strconv.Itoa(len(b)) + "\n"))
			h.Write(b)
		default:
			if sourceExt[filepath.Ext(name)] {
				return ""
			}
		}
	}
	// `go env -w` (a cell may run it) changes every later go command's flags.
	env := os.Getenv("GOENV")
	if dir, err := os.UserConfigDir(); env == "" && err == nil {
		env = filepath.Join(dir, "go", "env")
	}
	b, _ := os.ReadFile(env)
	h.Write([]byte("env\n"))
	h.Write(b)
	return string(h.Sum(nil))
}

// words are the arguments of one `-x` line (cmd/go's joinUnambiguously: Go-quoted when needed).
func words(line string) []string {
	var out []string
	for line = strings.TrimSpace(line); line != ""; line = strings.TrimLeft(line, " ") {
		if line[0] == '"' {
			q, err := strconv.QuotedPrefix(line)
			if err != nil {
				return nil
			}
			s, _ := strconv.Unquote(q)
			out, line = append(out, s), line[len(q):]
			continue
		}
		i := strings.IndexByte(line, ' ')
		if i < 0 {
			i = len(line)
		}
		out, line = append(out, line[:i]), line[i:]
	}
	return out
}

// The only places of the go command's work dir a replayable build names.
var allowedWork = regexp.MustCompile(`^\$WORK/b001(/_pkg_\.a|/importcfg|/importcfg\.link|/exe/a\.out|=>)?$`)

var toolPath = regexp.MustCompile(`^(/.*)/pkg/tool/[^/]+/([^/]+)$`)

// learnPlan reads a successful `go build -x -work`: nil when it did more than compile and link
// the cell's package against the standard library.
func learnPlan(key, trace, dir string) *plan {
	work, goroot := "", ""
	p := &plan{key: key, configs: map[string]string{}}
	for _, line := range strings.Split(trace, "\n") {
		if strings.HasPrefix(line, "WORK=") {
			work = line[len("WORK="):]
			continue
		}
		if work == "" {
			continue
		}
		// The go command shows its work dir as $WORK, but as ./… where it lies in the dir the
		// command runs in (the kernel's is in the module's dir), and that replacement comes first.
		if strings.HasPrefix(work, dir+"/") {
			line = strings.ReplaceAll(line, " ."+work[len(dir):], " $WORK")
		}
		line = strings.ReplaceAll(line, work, "$WORK")
		w := words(line)
		if len(w) == 0 || !strings.Contains(line, "$WORK/b001") {
			continue
		}
		m := toolPath.FindStringSubmatch(w[0])
		if m == nil {
			continue
		}
		if goroot != "" && m[1] != goroot {
			return nil
		}
		goroot = m[1]
		switch m[2] {
		case "compile":
			p.compile = w
		case "link":
			p.link = w
		case "buildid":
		default: // cgo, asm, pack: not replayed
			return nil
		}
		for _, a := range w {
			if (strings.Contains(a, "$WORK") || strings.Contains(a, filepath.Base(work))) && !allowedWork.MatchString(a) {
				return nil
			}
		}
	}
	if work == "" || p.compile == nil || p.link == nil {
		return nil
	}
	for _, name := range []string{"b001/importcfg", "b001/importcfg.link"} {
		b, err := os.ReadFile(filepath.Join(work, name))
		if err != nil {
			return nil
		}
		cfg := strings.ReplaceAll(string(b), work, "$WORK")
		for _, line := range strings.Split(cfg, "\n") {
			pkg, file, ok := strings.Cut(strings.TrimPrefix(line, "packagefile "), "=")
			if !ok || !strings.HasPrefix(line, "packagefile ") || file == "$WORK/b001/_pkg_.a" {
				continue
			}
			// The standard library's sources change only with the toolchain; a module's or the
			// cell module's own packages can change under the same import path.
			if st, err := os.Stat(filepath.Join(goroot, "src", pkg)); err != nil || !st.IsDir() || strings.Contains(file, "$WORK") {
				return nil
			}
		}
		p.configs[name] = cfg
	}
	return p
}

type replayed int

const (
	replayBuilt    replayed = iota
	replayFailed            // the compiler or linker said why: its output is the cell's errors
	replayStopped           // interrupted
	replayUnusable          // go build instead
)

// replay runs the plan's compile and link in work, and puts the program at the cell's name.
// A failure's error is the compiler's or linker's exit.
func (k *kernel) replay(r *cellRun, p *plan, work string, env []string, out *bytes.Buffer) (replayed, error) {
	at := func(s string) string { return strings.ReplaceAll(s, "$WORK", work) }
	if os.MkdirAll(filepath.Join(work, "b001", "exe"), 0o700) != nil {
		return replayUnusable, nil
	}
	for name, cfg := range p.configs {
		cfg = at(cfg)
		// The cache's trim may have taken a package file since: go build makes it again.
		for _, line := range strings.Split(cfg, "\n") {
			if _, file, ok := strings.Cut(line, "="); ok && strings.HasPrefix(line, "packagefile ") {
				if _, err := os.Stat(file); err != nil && !strings.HasPrefix(file, work) {
					return replayUnusable, nil
				}
			}
		}
		if os.WriteFile(filepath.Join(work, name), []byte(cfg), 0o600) != nil {
			return replayUnusable, nil
		}
	}
	for _, argv := range [][]string{p.compile, p.link} {
		args := make([]string, len(argv))
		for i, a := range argv {
			args[i] = at(a)
		}
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = k.dir.at, env, out, out
		err := r.start(cmd)
		if err == nil {
			err = cmd.Wait()
			r.ended()
		}
		if r.isStopped() {
			return replayStopped, nil
		}
		if _, ok := err.(*exec.ExitError); ok {
			return replayFailed, err
		}
		if err != nil {
			return replayUnusable, nil
		}
	}
	if os.Rename(filepath.Join(work, "b001", "exe", "a.out"), k.path("cell")) != nil {
		return replayUnusable, nil
	}
	return replayBuilt, nil
}
