/**
 * The glob of `GET /files/search`, matched in time linear in the name: the pattern becomes a
 * small NFA whose state set is advanced one character at a time, so no input can make it
 * backtrack (a regex such as picomatch's took minutes on `*a*a*a*a*a*a*a*a*b` against a
 * 200-character name, with the event loop blocked).
 *
 * `*` any run of characters but `/` (dotfiles included); `**` as a whole segment any number of
 * segments, elsewhere as `*`; `?` one character but `/`; `[abc]`, `[a-z]`, `[!…]`/`[^…]` (never
 * `/`), `[[:digit:]]`; `{a,b}` (nested, `{1..3}`, `{a..e}`; `{a}` is literal); `\` escapes; a
 * leading `!` is literal, a whole-pattern `!(…)` negates. Parentheses are literal; other
 * extglobs (`*(…)`, `+(…)`, `@(…)`, `?(…)`) are refused. Bad syntax throws `GlobSyntaxError`.
 */
import { expandBraces, GlobSyntaxError } from './glob-braces'

export { GlobSyntaxError }

/** Longest pattern accepted: the NFA's size, and so each step's cost, stays bounded. */
export const MAX_PATTERN_LENGTH = 4096

/**
 * Edge tests one name may cost. Linear is not cheap: 1,024 brace alternatives of stars keep
 * thousands of states live, so `*{a,b}` × 9 + `*c` took 2.5 million steps (130–200 ms) per
 * 254-character name, and a search of a few thousand such names held its request for minutes.
 * Ordinary patterns stay under a few thousand steps per name.
 */
export const MAX_STEPS_PER_MATCH = 1_000_000

/** A pattern whose matching of one name went past `MAX_STEPS_PER_MATCH`. */
export class GlobCostError extends Error {}

interface Edge {
  test: (c: string) => boolean
  to: number
}
interface State {
  edges: Edge[]
  eps: number[]
}

export interface Glob {
  /** True if `text` matches the whole pattern; `GlobCostError` if that costs too much. */
  match(text: string): boolean
  /** Edge tests made so far: bounded by states × characters, what the unit tests assert on. */
  readonly steps: number
}

export function compileGlob(pattern: string): Glob {
  if (pattern.length > MAX_PATTERN_LENGTH) throw new GlobSyntaxError(`longer than ${MAX_PATTERN_LENGTH} characters`)
  const negated = wholeNegation(pattern)
  const body = negated ?? pattern
  checkExtglobs(body)
  const states: State[] = [{ edges: [], eps: [] }]
  const accept = 0
  const starts: number[] = []
  for (const alternative of expandBraces(body)) {
    starts.push(build(tokenize(alternative.replace(/^(\.\/)+/, '')), states, accept))
  }
  let steps = 0
  const mark = new Uint32Array(states.length)
  let generation = 0
  const add = (set: number[], s: number) => {
    if (mark[s] === generation) return
    mark[s] = generation
    set.push(s)
    for (const e of stateOf(states, s).eps) add(set, e)
  }
  const run = (text: string): boolean => {
    generation++
    let current: number[] = []
    for (const s of starts) add(current, s)
    const limit = steps + MAX_STEPS_PER_MATCH
    for (const c of text) {
      generation++
      const next: number[] = []
      for (const s of current) {
        for (const edge of stateOf(states, s).edges) {
          steps++
          if (edge.test(c)) add(next, edge.to)
        }
      }
      if (steps > limit) throw new GlobCostError(`matching one name took more than ${MAX_STEPS_PER_MATCH} steps`)
      current = next
      if (current.length === 0) return false
    }
    return mark[accept] === generation
  }
  return {
    match: text => run(text) !== (negated !== undefined),
    get steps() {
      return steps
    },
  }
}

/** The inside of a pattern that is entirely `!(…)`, else undefined. */
function wholeNegation(pattern: string): string | undefined {
  if (!pattern.startsWith('!(')) return undefined
  let depth = 0
  for (let i = 1; i < pattern.length; i++) {
    const c = pattern[i]
    if (c === '\\') i++
    else if (c === '(') depth++
    else if (c === ')' && --depth === 0) return i === pattern.length - 1 ? pattern.slice(2, i) : undefined
  }
  throw new GlobSyntaxError('unclosed (')
}

/** picomatch read `*(`, `+(`, `@(`, `?(`, `!(` as extglobs: refused rather than matched differently. */
function checkExtglobs(pattern: string): void {
  for (let i = 0; i + 1 < pattern.length; i++) {
    if (pattern[i] === '\\') i++
    else if ('*+@?!'.includes(pattern.charAt(i)) && pattern[i + 1] === '(') {
      throw new GlobSyntaxError(`extglob ${pattern[i]}( is not supported (write \\( for a literal parenthesis)`)
    }
  }
}

type Token =
  { kind: 'char'; test: (c: string) => boolean } | { kind: 'star' } | { kind: 'globstar' } | { kind: 'slash' }

const notSlash = (c: string) => c !== '/'
const anything = () => true

function tokenize(p: string): Token[] {
  const out: Token[] = []
  const chars = [...p]
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]
    if (c === undefined) break
    const escaped = c === '\\' ? chars[i + 1] : undefined
    if (escaped !== undefined) {
      const lit = escaped
      i++
      out.push(lit === '/' ? { kind: 'slash' } : { kind: 'char', test: x => x === lit })
    } else if (c === '*') {
      let n = 1
      while (chars[i + 1] === '*') (n++, i++)
      const wholeSegment =
        (out.length === 0 || out.at(-1)!.kind === 'slash') && (i + 1 === chars.length || chars[i + 1] === '/')
      out.push({ kind: n > 1 && wholeSegment ? 'globstar' : 'star' })
    } else if (c === '?') out.push({ kind: 'char', test: notSlash })
    else if (c === '[') {
      const { test, end } = parseClass(chars, i)
      out.push({ kind: 'char', test })
      i = end
    } else if (c === ']') throw new GlobSyntaxError('] without [')
    else if (c === '/') out.push({ kind: 'slash' })
    else out.push({ kind: 'char', test: x => x === c })
  }
  return out
}

/** The state an index names: every index is one `fresh()` returned, so a miss is a bug here. */
function stateOf(states: State[], i: number): State {
  const state = states[i]
  if (!state) throw new Error(`glob automaton has no state ${i}`)
  return state
}

/** Appends the alternative's states; returns its start. `**` forms: whole, `**​/x`, `x/**​/y`, `x/**`. */
function build(tokens: Token[], states: State[], accept: number): number {
  const fresh = (): number => states.push({ edges: [], eps: [] }) - 1
  const start = fresh()
  let at = start
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]
    if (t === undefined) break
    const next = fresh()
    if (t.kind === 'char') stateOf(states, at).edges.push({ test: t.test, to: next })
    else if (t.kind === 'slash') {
      if (tokens[i + 1]?.kind === 'globstar' && i + 2 === tokens.length) {
        // `x/**` also matches `x` itself.
        const rest = fresh()
        stateOf(states, at).edges.push({ test: c => c === '/', to: rest })
        stateOf(states, rest).edges.push({ test: anything, to: rest })
        stateOf(states, rest).eps.push(next)
        stateOf(states, at).eps.push(next)
        i++
      } else stateOf(states, at).edges.push({ test: c => c === '/', to: next })
    } else if (t.kind === 'star') {
      stateOf(states, at).edges.push({ test: notSlash, to: at })
      stateOf(states, at).eps.push(next)
    } else if (tokens[i + 1]?.kind === 'slash') {
      // `**/`: zero or more whole segments, each ending in `/`.
      const inside = fresh()
      for (const s of [at, inside]) {
        stateOf(states, s).edges.push({ test: c => c === '/', to: at }, { test: notSlash, to: inside })
      }
      stateOf(states, at).eps.push(next)
      i++
    } else {
      stateOf(states, at).edges.push({ test: anything, to: at })
      stateOf(states, at).eps.push(next)
    }
    at = next
  }
  stateOf(states, at).eps.push(accept)
  return start
}

const POSIX: Record<string, (c: string) => boolean> = {
  alnum: c => /^[\p{L}\p{N}]$/u.test(c),
  alpha: c => /^\p{L}$/u.test(c),
  blank: c => c === ' ' || c === '\t',
  cntrl: c => /^\p{Cc}$/u.test(c),
  digit: c => c >= '0' && c <= '9',
  graph: c => /^[^\p{Cc}\p{Z}]$/u.test(c),
  lower: c => /^\p{Ll}$/u.test(c),
  print: c => /^[^\p{Cc}]$/u.test(c),
  punct: c => /^[!-/:-@[-`{-~]$/.test(c),
  space: c => /^\s$/.test(c),
  upper: c => /^\p{Lu}$/u.test(c),
  word: c => /^[\p{L}\p{N}_]$/u.test(c),
  xdigit: c => /^[0-9A-Fa-f]$/.test(c),
}

/** `[...]` starting at `chars[open]`: its test and the index of its `]`. */
function parseClass(chars: string[], open: number): { test: (c: string) => boolean; end: number } {
  let i = open + 1
  const negate = chars[i] === '!' || chars[i] === '^'
  if (negate) i++
  const tests: ((c: string) => boolean)[] = []
  for (let first = true; ; first = false) {
    let c = chars[i]
    if (c === undefined) throw new GlobSyntaxError('unclosed [')
    if (c === ']' && !first) break
    if (c === '[' && chars[i + 1] === ':') {
      const close = chars.indexOf(']', i)
      const spec = chars.slice(i, close + 1).join('')
      const [, name] = /^\[:([a-z]+):\]$/.exec(spec) ?? []
      if (name === undefined) throw new GlobSyntaxError(`bad character class ${spec || '[:'}`)
      const named = POSIX[name]
      if (!named) throw new GlobSyntaxError(`unknown character class ${spec}`)
      tests.push(named)
      i = close + 1
      continue
    }
    const escaped = c === '\\' ? chars[i + 1] : undefined
    if (escaped !== undefined) {
      c = escaped
      i++
    }
    let hi = chars[i + 1] === '-' ? chars[i + 2] : undefined
    if (hi !== undefined && hi !== ']') {
      i += 2
      const escapedHi = hi === '\\' ? chars[i + 1] : undefined
      if (escapedHi !== undefined) {
        hi = escapedHi
        i++
      }
      const lo = c.codePointAt(0)!
      const top = hi.codePointAt(0)!
      tests.push(x => x.codePointAt(0)! >= lo && x.codePointAt(0)! <= top)
    } else {
      const lit = c
      tests.push(x => x === lit)
    }
    i++
  }
  const inSet = (c: string) => tests.some(t => t(c))
  return { test: negate ? c => c !== '/' && !inSet(c) : inSet, end: i }
}
