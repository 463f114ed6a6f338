package main

// Variables a cell's statements declare and never read: Go refuses to compile them ("declared
// and not used"), which in a notebook only gets in the way (`x := compute()` to look at later),
// so the generated main marks them used with `_ = x` right after their declaration.

import (
	"go/ast"
	"go/token"
)

func (c *cell) findDefs(fset *token.FileSet, body *ast.BlockStmt) []def {
	off := func(p token.Pos) int { return fset.Position(p).Offset - c.stmtBase }
	assigned := map[*ast.Ident]bool{} // the left of a plain `=`: Go does not count it as a use
	uses := map[*ast.Object]int{}
	var out []def
	var stack []ast.Node
	defined := map[*ast.Ident]bool{}

	add := func(id *ast.Ident, stmt ast.Stmt, parent ast.Node) {
		if id.Name == "_" || id.Obj == nil || id.Obj.Decl == nil {
			return
		}
		at, before := -1, true
		switch p := parent.(type) {
		case *ast.BlockStmt, *ast.CaseClause, *ast.CommClause:
			if cc, ok := p.(*ast.CommClause); ok && cc.Comm == stmt {
				at = off(cc.Colon) + 1
			} else {
				at, before = off(stmt.End()), false
			}
		case *ast.IfStmt:
			at = off(p.Body.Lbrace) + 1
		case *ast.SwitchStmt:
			at = off(p.Body.Lbrace) + 1
		case *ast.ForStmt:
			at = off(p.Body.Lbrace) + 1
		}
		if r, ok := stmt.(*ast.RangeStmt); ok {
			at, before = off(r.Body.Lbrace)+1, true
		}
		if at < 0 {
			return
		}
		defined[id] = true
		out = append(out, def{off: off(id.Pos()), name: id.Name, at: at, before: before})
	}

	ast.Inspect(body, func(n ast.Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]
			return true
		}
		var parent ast.Node
		if len(stack) > 0 {
			parent = stack[len(stack)-1]
		}
		stack = append(stack, n)
		switch s := n.(type) {
		case *ast.AssignStmt:
			for _, l := range s.Lhs {
				if id, ok := l.(*ast.Ident); ok {
					if s.Tok == token.ASSIGN {
						assigned[id] = true
					} else if s.Tok == token.DEFINE && id.Obj != nil && id.Obj.Decl == s {
						add(id, s, parent)
					}
				}
			}
		case *ast.DeclStmt:
			if g, ok := s.Decl.(*ast.GenDecl); ok && g.Tok == token.VAR {
				for _, spec := range g.Specs {
					for _, id := range spec.(*ast.ValueSpec).Names {
						add(id, s, parent)
					}
				}
			}
		case *ast.RangeStmt:
			if s.Tok == token.DEFINE {
				for _, e := range []ast.Expr{s.Key, s.Value} {
					if id, ok := e.(*ast.Ident); ok {
						add(id, s, parent)
					}
				}
			}
		case *ast.Ident:
			if s.Obj != nil {
				uses[s.Obj]++
			}
		}
		return true
	})
	// Every identifier counted itself; take out the declarations and the plain assignments.
	for id := range defined {
		uses[id.Obj]--
	}
	for id := range assigned {
		if id.Obj != nil && !defined[id] {
			uses[id.Obj]--
		}
	}
	byOff := map[int]*ast.Object{}
	for id := range defined {
		byOff[fset.Position(id.Pos()).Offset-c.stmtBase] = id.Obj
	}
	for i := range out {
		out[i].unused = uses[byOff[out[i].off]] <= 0
	}
	return out
}

// inserts are the `_ = x` to put in for the defs marked.
func inserts(defs []def, marked func(def) bool) map[int]string {
	out := map[int]string{}
	for _, d := range defs {
		if !marked(d) {
			continue
		}
		if d.before {
			out[d.at] += " _ = " + d.name + ";"
		} else {
			out[d.at] += "; _ = " + d.name
		}
	}
	return out
}
