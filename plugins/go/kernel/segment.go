package main

// Where a cell without `%%` splits: its top-level declarations and statements, told apart by
// their first tokens at the semicolons (written or implied by a newline) outside any bracket.

import (
	"bytes"
	"go/scanner"
	"go/token"
	"sort"
	"strings"
)

// split returns the cell's declarations and statements as two texts of the cell's length, each
// with the other's bytes blanked (newlines kept), so offsets and lines stay the cell's.
func (c *cell) split() (decls, stmts []byte, hasStmts bool, errs []string) {
	within := c.multiLineTokens()
	for i, start := range c.lines {
		end := len(c.src)
		if i+1 < len(c.lines) {
			end = c.lines[i+1]
		}
		if within(start) {
			continue
		}
		line := strings.TrimSpace(string(c.src[start:end]))
		if line == "%%" || strings.HasPrefix(line, "%% ") || strings.HasPrefix(line, "%%\t") {
			c.args = strings.Fields(line[2:])
			return blank(c.src, start, len(c.src)), blank(c.src, 0, end), true, nil
		}
	}
	segments, errs := c.segments()
	if errs != nil {
		return nil, nil, false, errs
	}
	// The declarations' text keeps their segments alone: a semicolon between segments (the
	// empty clause of `for i := 0; ; i++`, or `;;`) is a statement's, and at package level it
	// would be "expected declaration".
	decls, stmts = blank(c.src, 0, len(c.src)), append([]byte(nil), c.src...)
	for _, s := range segments {
		if s.decl {
			copy(decls[s.start:s.end], c.src[s.start:s.end])
			// In place: a copy of the whole cell per declaration made 10,000 imports quadratic.
			blankInPlace(stmts, s.start, s.end)
		} else {
			hasStmts = true
		}
	}
	return decls, stmts, hasStmts, nil
}

// multiLineTokens tells whether a line starting at `off` begins inside a raw string or a block
// comment, where a `%%` line is the string's or the comment's text, not the marker. Scan errors
// are left to the parser, which reports them at their place.
func (c *cell) multiLineTokens() func(off int) bool {
	type span struct{ from, to int }
	var spans []span
	fset := token.NewFileSet()
	file := fset.AddFile("cell", -1, len(c.src))
	var s scanner.Scanner
	s.Init(file, c.src, func(token.Position, string) {}, scanner.ScanComments)
	for {
		pos, t, lit := s.Scan()
		if t == token.EOF {
			break
		}
		from := file.Offset(pos)
		// The literal's text has carriage returns taken out: its end is found in the source.
		closing := ""
		switch {
		case t == token.STRING && strings.HasPrefix(lit, "`"):
			closing = "`"
		case t == token.COMMENT && strings.HasPrefix(lit, "/*"):
			closing = "*/"
		default:
			continue
		}
		to := len(c.src)
		// On the bytes: a string of the rest of the cell per literal was quadratic.
		if i := bytes.Index(c.src[from+len(closing):], []byte(closing)); i >= 0 {
			to = from + len(closing) + i + len(closing)
		}
		spans = append(spans, span{from, to})
	}
	// The spans come in order and apart: the one that may hold off is the last starting before
	// it, looked up (a search of them all per line made 40,000 lines of `_ = \`a\`` take 5 s).
	return func(off int) bool {
		i := sort.Search(len(spans), func(i int) bool { return spans[i].from >= off }) - 1
		return i >= 0 && off < spans[i].to
	}
}

func blank(src []byte, from, to int) []byte {
	out := append([]byte(nil), src...)
	blankInPlace(out, from, to)
	return out
}

func blankInPlace(out []byte, from, to int) {
	for i := from; i < to && i < len(out); i++ {
		if out[i] != '\n' {
			out[i] = ' '
		}
	}
}

type segment struct {
	start, end int
	decl       bool
}

type tok struct {
	off int
	tok token.Token
	lit string
}

// segments cuts the cell into top-level declarations and statements at the semicolons (written
// or implied by a newline) outside any bracket.
func (c *cell) segments() ([]segment, []string) {
	fset := token.NewFileSet()
	file := fset.AddFile("cell", -1, len(c.src))
	var errs []string
	var s scanner.Scanner
	s.Init(file, c.src, func(pos token.Position, msg string) {
		errs = append(errs, c.where(pos.Offset)+msg)
	}, 0)
	var toks []tok
	for {
		pos, t, lit := s.Scan()
		toks = append(toks, tok{file.Offset(pos), t, lit})
		if t == token.EOF {
			break
		}
	}
	if errs != nil {
		return nil, errs
	}
	var out []segment
	for i := 0; toks[i].tok != token.EOF; {
		if toks[i].tok == token.SEMICOLON {
			i++
			continue
		}
		first, depth := i, 0
		for ; toks[i].tok != token.EOF; i++ {
			switch toks[i].tok {
			case token.LPAREN, token.LBRACK, token.LBRACE:
				depth++
			case token.RPAREN, token.RBRACK, token.RBRACE:
				depth--
			}
			if depth <= 0 && toks[i].tok == token.SEMICOLON {
				break
			}
		}
		end := toks[i].off
		if toks[i].lit == ";" { // written, not implied by a newline: it goes with the segment
			end++
		}
		out = append(out, segment{toks[first].off, end, declStart(toks, first)})
	}
	return out, nil
}

// declStart tells a declaration from a statement by its first tokens; `func` starts a
// declaration unless it is a function literal (`func(...) T {...}()`): a method has a name
// and its parameters after the receiver, a literal's result type is never followed by `(`.
func declStart(toks []tok, i int) bool {
	switch toks[i].tok {
	case token.PACKAGE, token.IMPORT, token.TYPE, token.CONST, token.VAR:
		return true
	case token.FUNC:
		if toks[i+1].tok == token.IDENT {
			return true
		}
		if toks[i+1].tok != token.LPAREN {
			return false
		}
		depth := 0
		for j := i + 1; toks[j].tok != token.EOF; j++ {
			switch toks[j].tok {
			case token.LPAREN:
				depth++
			case token.RPAREN:
				depth--
				if depth == 0 {
					return toks[j+1].tok == token.IDENT && toks[j+2].tok == token.LPAREN
				}
			}
		}
	}
	return false
}
