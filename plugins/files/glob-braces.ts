/**
 * Brace expansion for the search glob, bounded: `{a,b}{c,d}…` grows exponentially with the
 * pattern, so the number of alternatives and their total length are capped (a 400 beyond).
 */

/** A pattern that cannot be compiled: the route answers 400 with this message. */
export class GlobSyntaxError extends Error {}

const MAX_ALTERNATIVES = 1024
const MAX_EXPANDED_LENGTH = 16384

interface Budget {
  alternatives: number
  length: number
}

/** Every alternative of `pattern`, braces resolved; literal braces come back escaped (`\{`). */
export function expandBraces(pattern: string): string[] {
  const out: string[] = []
  expandInto(pattern, out, { alternatives: 0, length: 0 })
  return out
}

function expandInto(pattern: string, out: string[], budget: Budget): void {
  const open = findOpen(pattern)
  if (open === undefined) {
    if (++budget.alternatives > MAX_ALTERNATIVES) {
      throw new GlobSyntaxError(`braces expand to more than ${MAX_ALTERNATIVES} alternatives`)
    }
    budget.length += pattern.length
    if (budget.length > MAX_EXPANDED_LENGTH) {
      throw new GlobSyntaxError(`braces expand to more than ${MAX_EXPANDED_LENGTH} characters`)
    }
    out.push(pattern)
    return
  }
  const { close, commas } = scanBrace(pattern, open)
  const head = pattern.slice(0, open)
  const inner = pattern.slice(open + 1, close)
  const tail = pattern.slice(close + 1)
  let parts: string[]
  if (commas.length) {
    parts = []
    let from = open + 1
    for (const comma of [...commas, close]) {
      parts.push(pattern.slice(from, comma))
      from = comma + 1
    }
  } else {
    const range = rangeOf(inner)
    // `{a}` is not an expansion (as in bash and picomatch): the braces are literal.
    if (!range) return expandInto(`${head}\\{${inner}\\}${tail}`, out, budget)
    parts = range
  }
  for (const part of parts) expandInto(head + part + tail, out, budget)
}

/** Index of the first unescaped `{` outside a `[...]` class. */
function findOpen(p: string): number | undefined {
  for (let i = 0; i < p.length; i++) {
    const c = p[i]
    if (c === '\\') i++
    else if (c === '[') i = classEnd(p, i)
    else if (c === '{') return i
  }
  return undefined
}

/** The `}` closing the brace at `open`, and its top-level commas. */
function scanBrace(p: string, open: number): { close: number; commas: number[] } {
  const commas: number[] = []
  let depth = 0
  for (let i = open; i < p.length; i++) {
    const c = p[i]
    if (c === '\\') i++
    else if (c === '[') i = classEnd(p, i)
    else if (c === '{') depth++
    else if (c === '}' && --depth === 0) return { close: i, commas }
    else if (c === ',' && depth === 1) commas.push(i)
  }
  throw new GlobSyntaxError('unclosed {')
}

/** Index of the `]` ending a class opened at `open` (the tokenizer reports an unclosed one). */
function classEnd(p: string, open: number): number {
  let i = open + 1
  if (p[i] === '!' || p[i] === '^') i++
  if (p[i] === ']') i++
  for (; i < p.length; i++) {
    if (p[i] === '\\') i++
    else if (p[i] === '[' && p[i + 1] === ':') {
      const close = p.indexOf(':]', i + 2)
      if (close !== -1) i = close + 1
    } else if (p[i] === ']') return i
  }
  return p.length
}

/** `1..5`, `5..1`, `a..e`: the values; anything else undefined. */
function rangeOf(inner: string): string[] | undefined {
  const num = /^(-?\d+)\.\.(-?\d+)$/.exec(inner)
  const chr = /^([a-zA-Z])\.\.([a-zA-Z])$/.exec(inner)
  const [, first, last] = num ?? chr ?? []
  if (first === undefined || last === undefined) return undefined
  const from = num ? Number(first) : first.charCodeAt(0)
  const to = num ? Number(last) : last.charCodeAt(0)
  if (Math.abs(to - from) >= MAX_ALTERNATIVES) {
    throw new GlobSyntaxError(`range {${inner}} has more than ${MAX_ALTERNATIVES} values`)
  }
  const out: string[] = []
  const step = to >= from ? 1 : -1
  for (let v = from; v !== to + step; v += step) out.push(num ? String(v) : String.fromCharCode(v))
  return out
}
