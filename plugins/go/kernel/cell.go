package main

// Splitting one cell into what persists (imports and package-level declarations) and what runs
// once (the statements of the cell's main), with positions kept in the cell's own lines.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"sort"
	"strconv"
	"strings"
)

// importSpec is one import of a cell: later imports of the same name replace earlier ones.
type importSpec struct {
	key   string // the name it binds ("_:path" and ".:path" for blank and dot imports)
	name  string // the explicit name, if any
	path  string
	src   string // the spec, led by a line directive
	guess string // the package name, for standard-library paths (else unknown: "")
}

// unit is one package-level declaration: later units defining any of its keys replace it.
type unit struct {
	keys []string
	src  string
	refs map[string]bool // identifiers that may name an imported package (x in x.Sel)
}

// def is a variable declared by the cell's statements, and where `_ = name` would mark it used.
type def struct {
	off    int // offset of the identifier in the cell
	name   string
	at     int // offset of the insertion
	before bool
	unused bool // no read of it was found
}

// cell is one parsed cell.
type cell struct {
	n        int
	src      []byte
	lines    []int // offset of each line's start
	imports  []importSpec
	units    []unit
	stmts    []ast.Stmt
	stmtBase int // offset of the statements' parse source in the cell: cell offset = file offset - stmtBase
	runs     bool
	program  bool // a whole program (func main): its body runs as written
	args     []string
	show     bool // the last statement is an expression whose value may be shown
	shown    int  // where that expression starts: after the labels the statement carries (a goto's target)
	defs     []def
	refs     map[string]bool
}

// parseCell parses a cell: `%%` splits declarations from statements (gonb's marker); without
// it, top-level import/type/const/var/func are declarations and everything else statements.
func parseCell(code string, n int) (*cell, []string) {
	c := &cell{n: n, src: []byte(code), refs: map[string]bool{}}
	c.lines = []int{0}
	for i, b := range c.src {
		if b == '\n' {
			c.lines = append(c.lines, i+1)
		}
	}
	declSrc, stmtSrc, hasStmts, errs := c.split()
	if errs != nil {
		return nil, errs
	}
	if errs := c.parseDecls(declSrc); errs != nil {
		return nil, errs
	}
	if hasStmts {
		if c.program {
			return nil, []string{c.where(0) + "a cell with func main() cannot also have statements outside functions"}
		}
		if errs := c.parseStmts(stmtSrc); errs != nil {
			return nil, errs
		}
		c.runs = true
	}
	return c, nil
}

// where is the `cellN:line:col: ` prefix of a message about the cell's byte `off`.
func (c *cell) where(off int) string {
	line, col := c.position(off)
	return fmt.Sprintf("cell%d:%d:%d: ", c.n, line, col)
}

func (c *cell) position(off int) (int, int) {
	if off > len(c.src) {
		off = len(c.src)
	}
	if off < 0 {
		off = 0
	}
	// The last line starting at or before off, looked up: counted from the first, a cell of
	// 40,000 lines with an error on each took 0.85 s, one of a million hours.
	line := sort.Search(len(c.lines), func(i int) bool { return c.lines[i] > off }) - 1
	return line + 1, off - c.lines[line] + 1
}

// directive makes the compiler and the runtime report what follows at the cell's byte `off`.
func (c *cell) directive(off int) string {
	line, col := c.position(off)
	return fmt.Sprintf("/*line cell%d:%d:%d*/", c.n, line, col)
}

func (c *cell) text(from, to int) string { return string(c.src[from:to]) }

// parseErrors renders a parser's errors at the cell's positions; base is the length of the
// text put before the cell to make it parse.
func (c *cell) parseErrors(err error, base int) []string {
	var out []string
	if list, ok := err.(scanner.ErrorList); ok {
		for _, e := range list {
			out = append(out, c.where(e.Pos.Offset-base)+e.Msg)
		}
		return out
	}
	return []string{err.Error()}
}

func (c *cell) parseDecls(src []byte) []string {
	prefix := "package main;"
	if hasPackageClause(src) {
		prefix = ""
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "cell", prefix+string(src), 0)
	if err != nil {
		return c.parseErrors(err, len(prefix))
	}
	off := func(p token.Pos) int { return fset.Position(p).Offset - len(prefix) }
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil && d.Name.Name == "main" {
				c.program, c.runs = true, true
				c.stmts, c.stmtBase, c.refs = d.Body.List, len(prefix), refsOf(d.Body)
				continue
			}
			key := d.Name.Name
			if d.Recv != nil && len(d.Recv.List) > 0 {
				key = "method:" + receiverName(d.Recv.List[0].Type) + "." + key
			} else if key == "init" {
				key = "init:" + c.hash(off(d.Pos()), off(d.End()))
			}
			c.units = append(c.units, unit{[]string{key}, c.directive(off(d.Pos())) + c.text(off(d.Pos()), off(d.End())), refsOf(d)})
		case *ast.GenDecl:
			c.genDecl(d, off)
		}
	}
	return nil
}

func (c *cell) genDecl(d *ast.GenDecl, off func(token.Pos) int) {
	if d.Tok == token.IMPORT {
		for _, s := range d.Specs {
			c.importSpec(s.(*ast.ImportSpec), off)
		}
		return
	}
	// A const group with implied values (iota) must stay whole; any other group splits, so a
	// later cell can redefine one of its names without losing the others.
	whole := false
	if d.Tok == token.CONST && d.Lparen.IsValid() {
		for _, s := range d.Specs {
			whole = whole || len(s.(*ast.ValueSpec).Values) == 0
		}
	}
	if whole {
		var keys []string
		refs := refsOf(d)
		for _, s := range d.Specs {
			keys = append(keys, c.specKeys(s, off)...)
		}
		c.units = append(c.units, unit{keys, c.directive(off(d.Pos())) + c.text(off(d.Pos()), off(d.End())), refs})
		return
	}
	for _, s := range d.Specs {
		src := d.Tok.String() + " " + c.directive(off(s.Pos())) + c.text(off(s.Pos()), off(s.End()))
		c.units = append(c.units, unit{c.specKeys(s, off), src, refsOf(s)})
	}
}

func (c *cell) specKeys(s ast.Spec, off func(token.Pos) int) []string {
	var keys []string
	switch s := s.(type) {
	case *ast.TypeSpec:
		keys = append(keys, s.Name.Name)
	case *ast.ValueSpec:
		for _, n := range s.Names {
			if n.Name != "_" {
				keys = append(keys, n.Name)
			}
		}
	}
	if len(keys) == 0 { // `var _ = ...`: the same text again replaces it
		keys = append(keys, "_:"+c.hash(off(s.Pos()), off(s.End())))
	}
	return keys
}

func (c *cell) importSpec(s *ast.ImportSpec, off func(token.Pos) int) {
	path, _ := strconv.Unquote(s.Path.Value)
	im := importSpec{path: path, src: c.directive(off(s.Pos())) + c.text(off(s.Pos()), off(s.End()))}
	if s.Name != nil {
		im.name = s.Name.Name
	}
	if first := strings.Split(path, "/")[0]; !strings.Contains(first, ".") {
		elems := strings.Split(path, "/")
		im.guess = elems[len(elems)-1]
		if len(elems) > 1 && len(im.guess) > 1 && im.guess[0] == 'v' && isDigits(im.guess[1:]) {
			im.guess = elems[len(elems)-2]
		}
	}
	switch im.name {
	case "_", ".":
		im.key, im.guess = im.name+":"+path, ""
	case "":
		im.key = im.guess
		if im.key == "" {
			im.key = "path:" + path
		}
	default:
		im.key, im.guess = im.name, im.name
	}
	c.imports = append(c.imports, im)
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

func (c *cell) hash(from, to int) string {
	sum := sha256.Sum256(c.src[from:to])
	return hex.EncodeToString(sum[:8])
}

func hasPackageClause(src []byte) bool {
	var s scanner.Scanner
	fset := token.NewFileSet()
	s.Init(fset.AddFile("", -1, len(src)), src, nil, 0)
	_, t, _ := s.Scan()
	return t == token.PACKAGE
}

func receiverName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.StarExpr:
		return receiverName(e.X)
	case *ast.ParenExpr:
		return receiverName(e.X)
	case *ast.IndexExpr:
		return receiverName(e.X)
	case *ast.IndexListExpr:
		return receiverName(e.X)
	case *ast.Ident:
		return e.Name
	}
	return "?"
}

// refsOf collects x of every x.Sel whose x the parser did not resolve: maybe a package name.
func refsOf(n ast.Node) map[string]bool {
	refs := map[string]bool{}
	ast.Inspect(n, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok && id.Obj == nil {
				refs[id.Name] = true
			}
		}
		return true
	})
	return refs
}

const stmtPrefix = "package main;func main(){"

func (c *cell) parseStmts(src []byte) []string {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "cell", stmtPrefix+string(src)+"\n}", 0)
	if err != nil {
		return c.parseErrors(err, len(stmtPrefix))
	}
	body := f.Decls[0].(*ast.FuncDecl).Body
	c.stmts, c.stmtBase = body.List, len(stmtPrefix)
	c.refs = refsOf(body)
	if n := len(c.stmts); n > 0 {
		last := c.stmts[n-1]
		for l, ok := last.(*ast.LabeledStmt); ok; l, ok = last.(*ast.LabeledStmt) {
			last = l.Stmt
		}
		if e, ok := last.(*ast.ExprStmt); ok {
			c.show, c.shown = showable(e.X), int(e.Pos())-1-c.stmtBase
		}
	}
	c.defs = c.findDefs(fset, body)
	return nil
}

// showable: every expression but calls known to return nothing or to be called for their
// effect (fmt.Print*, log.*, print, panic, ...). Other calls are tried, and their value is
// shown when they return exactly one.
func showable(e ast.Expr) bool {
	call, ok := e.(*ast.CallExpr)
	if !ok {
		return true
	}
	switch f := call.Fun.(type) {
	case *ast.Ident:
		switch f.Name {
		case "print", "println", "panic", "close", "delete", "clear":
			return false
		}
	case *ast.SelectorExpr:
		if x, ok := f.X.(*ast.Ident); ok && x.Obj == nil {
			if x.Name == "log" || (x.Name == "fmt" && (strings.HasPrefix(f.Sel.Name, "Print") || strings.HasPrefix(f.Sel.Name, "Fprint"))) {
				return false
			}
		}
	}
	return true
}

// emit writes the cell's byte range [from, to) with `inserts` (at cell offsets) put in, each
// followed by a directive so that the rest of its line keeps its cell column.
func (c *cell) emit(b *bytes.Buffer, from, to int, inserts map[int]string) {
	b.WriteString(c.directive(from))
	last := from
	for at := from; at <= to; at++ {
		if ins, ok := inserts[at]; ok {
			b.Write(c.src[last:at])
			b.WriteString(ins)
			if at < len(c.src) {
				b.WriteString(c.directive(at))
			}
			last = at
		}
	}
	b.Write(c.src[last:to])
}
