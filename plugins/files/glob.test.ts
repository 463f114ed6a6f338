import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import picomatch from 'picomatch'
import { compileGlob, GlobCostError, GlobSyntaxError, MAX_PATTERN_LENGTH, MAX_STEPS_PER_MATCH } from './glob'

const matches = (pattern: string, text: string) => compileGlob(pattern).match(text)

// What picomatch (the previous matcher, options dot + posix + strictBrackets) answered, except
// where marked: the documented differences.
const TABLE: [pattern: string, text: string, expected: boolean][] = [
  ['*.py', 'a.py', true],
  ['*.py', '.hidden.py', true],
  ['*', '.hidden', true],
  ['*.py', 'src/c.py', false],
  ['src/*.py', 'src/c.py', true],
  ['src/*.py', 'src/lib/d.py', false],
  ['src/**/*.py', 'src/c.py', true],
  ['src/**/*.py', 'src/lib/d.py', true],
  ['**/*.ts', 'e.ts', true],
  ['**/*.ts', 'a/.b/e.ts', true],
  ['**', 'a/b', true],
  ['**', '.x', true],
  ['a/**', 'a', true],
  ['a/**', 'a/b/c', true],
  ['a/**/b', 'a/b', true],
  ['a/**/b', 'a/x/y/b', true],
  ['a/**/b', 'a/x/y/c', false],
  ['a**', 'ab', true],
  ['a**', 'a/b', false],
  ['**a', 'x/a', false],
  ['a/**b', 'a/xb', true],
  ['a/**b', 'a/x/b', false],
  ['x?', 'x1', true],
  ['x?', 'x12', false],
  ['a?c', 'a/c', false],
  ['?', 'é', true],
  ['?', '😀', true], // differs: picomatch counted UTF-16 units, one character is one character here
  ['[xy]1', 'y1', true],
  ['x[!1]', 'x2', true],
  ['x[!1]', 'x1', false],
  ['x[^2]', 'x1', true],
  ['[a-c]', 'b', true],
  ['[c-a]', 'b', false],
  ['[]]', ']', true],
  ['[]a]', 'a', true],
  ['[!]]', 'a', true],
  ['[\\]]', ']', true],
  ['[a\\-z]', '-', true],
  ['[!a-c]x', 'dx', true],
  ['[[:digit:]]', '5', true],
  ['[[:alpha:]]x', 'yx', true],
  ['[a/b]', '/', true],
  ['*.{ts,txt}', 'b.txt', true],
  ['*.{ts,txt}', 'b.py', false],
  ['{a,b}c', 'ac', true],
  ['{a,{b,c}}', 'c', true],
  ['a{,b}', 'a', true],
  ['{1..3}', '2', true],
  ['{1..3}', '4', false],
  ['{a}', '{a}', true],
  ['{a}', 'a', false],
  ['{}', '{}', true],
  ['a}', 'a}', true],
  ['!(x*)', 'y1', true],
  ['!(x*)', 'x1', false],
  ['!x', '!x', true],
  ['!x', 'y', false],
  ['\\*', '*', true],
  ['\\*', 'a', false],
  ['a\\', 'a\\', true],
  ['$x', '$x', true],
  ['^a', '^a', true],
  ['a.b', 'axb', false],
  ['a+b', 'a+b', true],
  ['a|b', 'a|b', true],
  ['a|b', 'a', false],
  ['file (1).txt', 'file (1).txt', true],
  ['file (1).txt', 'file 1.txt', false], // differs: parentheses are literal, not a regex group
  ['./a', 'a', true],
  ['*/b', 'a/b', true],
  ['*a*a*a*b', 'aaaaab', true],
  ['*a*a*a*b', 'aaaaaa', false],
]

describe('compileGlob', () => {
  test.each(TABLE)('%p against %p → %p', (pattern, text, expected) => {
    expect(matches(pattern, text)).toBe(expected)
  })

  test('bad syntax throws GlobSyntaxError (the route answers 400)', () => {
    for (const p of ['[abc', '{a,b', 'a]', ']', '*(', '+(a)', '@(a|b)', '?(a)', 'x!(y)', '[[:foo:]]', 'a{']) {
      expect(() => compileGlob(p), p).toThrow(GlobSyntaxError)
    }
  })

  test('brace expansion is bounded', () => {
    expect(() => compileGlob('{a,b}'.repeat(11))).toThrow('more than 1024 alternatives')
    expect(() => compileGlob('{1..100000}')).toThrow(GlobSyntaxError)
    expect(() => compileGlob('a'.repeat(MAX_PATTERN_LENGTH + 1))).toThrow(GlobSyntaxError)
    expect(matches('{a,b}'.repeat(10), 'ab'.repeat(5))).toBe(true)
  })

  test('hostile patterns cost steps linear in the name: no backtracking', () => {
    const name = 'a'.repeat(200)
    for (const pattern of ['*a*a*a*a*a*a*a*a*b', '**/*a*a*a*a*a*a*a*a*b', `${'*?'.repeat(40)}b`, '!(*a*a*a*a*a*b)']) {
      const glob = compileGlob(pattern)
      glob.match(name)
      glob.match(`x/${name}/${name}`)
      // Each character advances at most every state along its (≤ 2) edges.
      const bound = 2 * 2 * (pattern.length + 2) * (3 * name.length + 4)
      expect(glob.steps, pattern).toBeLessThan(bound)
    }
  })

  test('a name whose matching costs more than the bound throws, cheap names still match after', () => {
    // 1,024 alternatives of stars: every state live, 2.5 million steps for this one name.
    const glob = compileGlob(`${'*{a,b}'.repeat(9)}*c`)
    expect(() => glob.match('ab'.repeat(127))).toThrow(GlobCostError)
    expect(glob.steps).toBeLessThan(MAX_STEPS_PER_MATCH + 40_000)
    expect(glob.match('abc')).toBe(false)
    expect(glob.match('ab'.repeat(9) + 'c')).toBe(true)
  })

  test('agrees with picomatch on generated patterns of the common syntax', () => {
    const oracle = (p: string) => picomatch(p, { dot: true, strictBrackets: true, posix: true })
    const piece = fc.constantFrom('a', 'b', '.', '*', '?', '[ab]', '[!a]', '{a,b}', '{a,.b}', '/', '**/')
    const text = fc.array(fc.constantFrom('a', 'b', '.', '/', 'c'), { maxLength: 8 }).map(cs => cs.join(''))
    fc.assert(
      fc.property(fc.array(piece, { minLength: 1, maxLength: 6 }), text, (pieces, name) => {
        const pattern = pieces.join('')
        // Their differences, on purpose: a star matching an empty segment, `.`/`..` segments
        // and empty segments (no relative path or base name has them).
        fc.pre(!/(^|\/)\.\.?(\/|$)|\/\/|^\/|\/$/.test(name) && name !== '')
        fc.pre(!/(^|\/)\*(\/|$)/.test(pattern) && !pattern.includes('/**/**'))
        expect(matches(pattern, name)).toBe(oracle(pattern)(name))
      }),
      { numRuns: 3000, seed: 10_3 },
    )
  })
})
