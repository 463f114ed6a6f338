package main

// The program a cell compiles to: every import and declaration kept from earlier cells (a
// cell's own replace those of the same name), and the cell's statements as main.

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// state is what persists between cells: their imports and declarations, in order.
type state struct {
	imports []importSpec
	units   []unit
}

// merged is the state with the cell's imports and declarations put in, replacing by name: each
// in turn takes the place of those it shares a name with. Who holds a name is looked up, not
// searched for: a copy of the list per import made a cell of 10,000 imports take 33 s, on every
// compile attempt.
func (s *state) merged(c *cell) state {
	imports := append([]importSpec(nil), s.imports...)
	gone := make([]bool, len(imports), len(imports)+len(c.imports))
	importOf := map[string]int{}
	for i, im := range imports {
		importOf[im.key] = i
	}
	for _, im := range c.imports {
		if i, ok := importOf[im.key]; ok {
			gone[i] = true
		}
		importOf[im.key] = len(imports)
		imports, gone = append(imports, im), append(gone, false)
	}
	units := append([]unit(nil), s.units...)
	unitGone := make([]bool, len(units), len(units)+len(c.units))
	unitOf := map[string]int{}
	for i, u := range units {
		for _, k := range u.keys {
			unitOf[k] = i
		}
	}
	for _, u := range c.units {
		// A name's holder may be gone already (it lost another of its names): no harm.
		for _, k := range u.keys {
			if i, ok := unitOf[k]; ok {
				unitGone[i] = true
			}
		}
		for _, k := range u.keys {
			unitOf[k] = len(units)
		}
		units, unitGone = append(units, u), append(unitGone, false)
	}
	return state{kept(imports, gone), kept(units, unitGone)}
}

// kept is all but what gone marks, in order.
func kept[T any](all []T, gone []bool) []T {
	out := all[:0:0]
	for i, x := range all {
		if !gone[i] {
			out = append(out, x)
		}
	}
	return out
}

// options are what a compile attempt learned from the one before.
type options struct {
	show   bool            // wrap the last expression to show its value
	blank  map[string]bool // import paths to import as _ (unused)
	unused map[int]bool    // offsets of variables to mark used
}

// source is main.go for the cell under the merged state.
func source(m state, c *cell, o options) []byte {
	used := map[string]bool{}
	for k := range c.refs {
		used[k] = true
	}
	for _, u := range m.units {
		for k := range u.refs {
			used[k] = true
		}
	}
	var b bytes.Buffer
	b.WriteString("package main\n\n")
	if len(m.imports) > 0 {
		b.WriteString("import (\n")
		for _, im := range m.imports {
			// An import nothing uses is kept for its side effects (init), as a blank import; not
			// cgo's "C", which cannot be renamed (the cell failed "cannot rename import").
			if im.name != "_" && im.path != "C" && (o.blank[im.path] || (im.guess != "" && !used[im.guess])) {
				b.WriteString("\t_ " + strconv.Quote(im.path) + "\n")
			} else {
				b.WriteString("\t" + im.src + "\n")
			}
		}
		b.WriteString(")\n\n")
	}
	for _, u := range m.units {
		b.WriteString(u.src)
		b.WriteString("\n\n")
	}
	b.WriteString("//line execd-main.go:1\nfunc main() {\n\tdefer _execdRecover()\n")
	if c.runs {
		ins := inserts(c.defs, func(d def) bool { return !c.program && (d.unused || o.unused[d.off]) })
		for i, s := range c.stmts {
			// Positions of a fresh file set start at 1.
			from, to := int(s.Pos())-1-c.stmtBase, int(s.End())-1-c.stmtBase
			if i == len(c.stmts)-1 && o.show {
				if c.shown > from {
					c.emit(&b, from, c.shown, ins) // its labels stay on the statement
					from = c.shown
				}
				b.WriteString(c.directive(from) + "_execdShow(")
				c.emit(&b, from, to, ins)
				b.WriteString(")\n")
				continue
			}
			c.emit(&b, from, to, ins)
			b.WriteString("\n")
		}
	}
	b.WriteString("}\n")
	return b.Bytes()
}

var (
	errorLine    = regexp.MustCompile(`^(?:\./)?cell(\d+):(\d+):(\d+): (.*)$`)
	unusedImport = regexp.MustCompile(`^"([^"]+)" imported (?:as \S+ )?and not used|^imported and not used: "([^"]+)"`)
	unusedVar    = regexp.MustCompile(`declared (?:but|and) not used`)
	notShowable  = regexp.MustCompile(`_execdShow|\(no value\) used as value|single-value context`)
	undefined    = regexp.MustCompile(`^undefined: (\w+)$`)
)

// stdPackages are imported when a cell uses them without importing them (as gonb does with
// goimports): the standard library's most used packages, by name.
var stdPackages = map[string]string{}

func init() {
	for _, path := range strings.Fields(`bufio bytes context crypto/rand crypto/sha256 encoding/base64
		encoding/csv encoding/hex encoding/json errors flag fmt io io/fs log math math/big math/bits
		math/rand net net/http net/url os os/exec os/signal path path/filepath reflect regexp runtime
		sort strconv strings sync sync/atomic syscall text/tabwriter text/template time unicode
		unicode/utf8`) {
		elems := strings.Split(path, "/")
		stdPackages[elems[len(elems)-1]] = path
	}
}

// compileErrors are the compiler's messages, one per error (continuation lines joined), without
// the go command's `# package` header.
func compileErrors(out string) []string {
	var errs []string
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "# "), strings.HasPrefix(line, "go: finding module for package "), line == "":
		case strings.HasPrefix(line, "\t") && len(errs) > 0:
			errs[len(errs)-1] += "\n" + line
		default:
			errs = append(errs, strings.TrimPrefix(line, "./"))
		}
	}
	return firstErrors(errs)
}

// maxErrors is how many errors a cell reports: go build lists every import it cannot find (the
// compiler stops at 10 of its own), the scanner every bad token, and a cell of 10,000 was a
// 1.6 MB event (and learn's look at each, against each import, quadratic).
const maxErrors = 100

// firstErrors is the first maxErrors of errs, and a count of the rest.
func firstErrors(errs []string) []string {
	if len(errs) <= maxErrors {
		return errs
	}
	return append(errs[:maxErrors:maxErrors], fmt.Sprintf("… %d more errors", len(errs)-maxErrors))
}

// learn changes the options after a failed compile; false when nothing is left to try.
func learn(c *cell, errs []string, o *options) bool {
	changed := false
	for _, e := range errs {
		msg, line, col, inCell := e, 0, 0, false
		if m := errorLine.FindStringSubmatch(e); m != nil {
			msg = m[4]
			line, _ = strconv.Atoi(m[2])
			col, _ = strconv.Atoi(m[3])
			inCell = m[1] == strconv.Itoa(c.n)
		}
		if m := unusedImport.FindStringSubmatch(msg); m != nil {
			path := m[1] + m[2]
			if !o.blank[path] {
				o.blank[path], changed = true, true
			}
			continue
		}
		if m := undefined.FindStringSubmatch(msg); m != nil && !imported(c, m[1]) {
			if path, ok := stdPackages[m[1]]; ok {
				c.imports = append(c.imports, importSpec{key: m[1], path: path, src: strconv.Quote(path), guess: m[1]})
				changed = true
				continue
			}
		}
		if o.show && notShowable.MatchString(msg) {
			o.show, changed = false, true
			continue
		}
		if inCell && unusedVar.MatchString(msg) && line > 0 && line <= len(c.lines) {
			at := c.lines[line-1] + col - 1
			for _, d := range c.defs {
				if d.off == at && !o.unused[at] {
					o.unused[at], changed = true, true
				}
			}
		}
	}
	return changed
}

func imported(c *cell, name string) bool {
	for _, im := range c.imports {
		if im.key == name {
			return true
		}
	}
	return false
}

// support is compiled with every cell: the value and panic channel to the kernel (fd 3), one
// tab-separated line per message with Go-quoted fields (no encoding/json: every cell links it).
const support = `package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"syscall"
)

// Not inherited by what the cell starts.
var _execdChannel = func() *os.File {
	syscall.CloseOnExec(3)
	return os.NewFile(3, "execd")
}()

func _execdShow(v interface{}) {
	_execdChannel.WriteString("result\t" + strconv.Quote(fmt.Sprintf("%v", v)) + "\n")
}

func _execdRecover() {
	if r := recover(); r != nil {
		_execdChannel.WriteString("panic\t" + strconv.Quote(fmt.Sprint(r)) + "\t" + strconv.Quote(string(debug.Stack())) + "\n")
		os.Exit(2)
	}
}
`
