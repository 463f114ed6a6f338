package main

// A cell's `x := 1` is a statement of that cell's main, gone with it (README, Go contexts), and
// the next cell's `x` failed with a bare "undefined: x": the one mistake everyone writing go
// cells makes first. The kernel remembers which cell last declared a name so, and says so in
// the compile error.

import (
	"go/ast"
	"go/token"
	"regexp"
	"strconv"
)

// maxLocals bounds what is remembered: names are a cell's identifiers, and a context may run
// cells for weeks.
const maxLocals = 4096

type locals map[string]int

// note remembers the names cell c's top-level statements declare with `:=`.
func (l *locals) note(c *cell) {
	if *l == nil {
		*l = locals{}
	}
	for _, s := range c.stmts {
		a, ok := s.(*ast.AssignStmt)
		if !ok || a.Tok != token.DEFINE {
			continue
		}
		for _, e := range a.Lhs {
			id, ok := e.(*ast.Ident)
			if !ok || id.Name == "_" {
				continue
			}
			if _, known := (*l)[id.Name]; !known && len(*l) >= maxLocals {
				continue
			}
			(*l)[id.Name] = c.n
		}
	}
}

var undefinedName = regexp.MustCompile(`: undefined: ([\pL_][\pL\pN_]*)$`)

// explain adds to each "undefined: x" the cell whose `x :=` it may mean.
func (l locals) explain(errs []string) []string {
	for i, e := range errs {
		m := undefinedName.FindStringSubmatch(e)
		if m == nil {
			continue
		}
		if n, ok := l[m[1]]; ok {
			errs[i] = e + " (cell" + strconv.Itoa(n) + "'s " + m[1] + " := … lived in that cell only; `var " + m[1] + " = …` at a cell's top level persists)"
		}
	}
	return errs
}
