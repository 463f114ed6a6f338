import { describe, expect, test } from 'bun:test'
import { ByteLineSplitter, LineSplitter } from './lines'

const enc = (s: string) => new TextEncoder().encode(s)
const all = (chunks: string[], max?: number) => {
  const s = new LineSplitter(max)
  return [...chunks.flatMap(c => s.push(enc(c))), ...s.end()]
}

describe('LineSplitter', () => {
  test('blank lines become "\\n" exactly as the reference smoke test expects', () => {
    expect(all(['a\n\nb\n\n\nc\n'])).toEqual(['a', '\n', 'b', '\n', '\n', 'c'])
  })
  test('\\r and \\r\\n end a line once, also across chunk boundaries', () => {
    expect(all(['prog 10%\rprog 20%\r'])).toEqual(['prog 10%', 'prog 20%'])
    expect(all(['x\r', '\ny\r\n'])).toEqual(['x', 'y'])
    expect(all(['x\r\r\n'])).toEqual(['x', '\n'])
  })
  test('an unterminated tail is sent at the end', () => {
    expect(all(['he', 'llo'])).toEqual(['hello'])
  })
  test('multibyte characters split across chunks survive', () => {
    const bytes = enc('é\n')
    const s = new LineSplitter()
    expect([...s.push(bytes.slice(0, 1)), ...s.push(bytes.slice(1)), ...s.end()]).toEqual(['é'])
  })
  test('an endless line is cut into bounded pieces', () => {
    expect(all(['abcdefg'], 3)).toEqual(['abc', 'def', 'g'])
  })
})

/** The character-by-character splitter the indexOf one replaced: the spec of the fuzz test. */
function referenceSplit(text: string, maxLine: number): string[] {
  const lines: string[] = []
  let tail = ''
  let afterCR = false
  let start = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 10 && afterCR && i === start && tail === '') {
      afterCR = false
      start = i + 1
      continue
    }
    afterCR = false
    if (c === 10 || c === 13) {
      const line = tail + text.slice(start, i)
      tail = ''
      lines.push(line === '' ? '\n' : line)
      afterCR = c === 13
      start = i + 1
    }
  }
  tail += text.slice(start)
  while (tail.length > maxLine) {
    lines.push(tail.slice(0, maxLine))
    tail = tail.slice(maxLine)
  }
  if (tail !== '') lines.push(tail)
  return lines
}

test('LineSplitter matches the reference splitting for random text cut at random points', () => {
  const alphabet = ['a', 'b', '\n', '\r', 'é', ' ']
  let seed = 7
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n
  for (let round = 0; round < 300; round++) {
    let text = ''
    for (let k = rand(60); k > 0; k--) text += alphabet[rand(alphabet.length)]
    const bytes = enc(text)
    const s = new LineSplitter(1 << 20)
    const got: string[] = []
    for (let at = 0; at < bytes.length;) {
      const next = Math.min(bytes.length, at + 1 + rand(8))
      got.push(...s.push(bytes.slice(at, next)))
      at = next
    }
    got.push(...s.end())
    expect(got).toEqual(referenceSplit(text, 1 << 20))
  }
})

describe('ByteLineSplitter', () => {
  const dec = new TextDecoder()
  /** A line's text; a line left as bytes must be one JSON takes as it is. */
  const text = (l: Uint8Array | string) => {
    if (typeof l === 'string') return l
    expect(l.every(b => b >= 0x20 && b < 0x80 && b !== 0x22 && b !== 0x5c)).toBe(true)
    return dec.decode(l)
  }

  test('clean ASCII lines stay bytes; lines JSON must escape or that are not ASCII are text', () => {
    const s = new ByteLineSplitter()
    const lines = [...s.push(enc('plain\nq"b\ntab\tx\né\n\n')), ...s.end()]
    expect(lines.map(l => typeof l)).toEqual(['object', 'string', 'string', 'string', 'string'])
    expect(lines.map(text)).toEqual(['plain', 'q"b', 'tab\tx', 'é', '\n'])
  })

  test('a BOM is dropped at the start of the output only, as the text splitter drops it', () => {
    const s = new ByteLineSplitter()
    const bom = enc('\ufeff')
    const lines = [...s.push(bom.slice(0, 2)), ...s.push(enc('\ufeffa\n\ufeffb\n').slice(2)), ...s.end()]
    expect(lines.map(text)).toEqual(['a', '\ufeffb'])
  })

  test('gives the same lines as LineSplitter for any bytes cut at any points', () => {
    // escapes, CR, multibyte, invalid and truncated UTF-8, BOMs; tails cut short and long
    const alphabet = [
      [0x61],
      [10],
      [13],
      [0xc3, 0xa9],
      [0x20],
      [0x22],
      [0x5c],
      [9],
      [0xff],
      [0xe2, 0x82],
      [0xf0, 0x9f, 0x98, 0x80],
      [0xef, 0xbb, 0xbf],
      [0x7f],
      [1],
    ]
    let seed = 11
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n
    for (let round = 0; round < 3000; round++) {
      const bytes: number[] = []
      for (let k = rand(80); k > 0; k--) bytes.push(...alphabet[rand(alphabet.length)]!)
      const all = new Uint8Array(bytes)
      const max = rand(3) ? 1 + rand(12) : 1 << 20
      const want = new LineSplitter(max)
      const got = new ByteLineSplitter(max)
      const a: string[] = []
      const b: string[] = []
      for (let at = 0; at < all.length;) {
        const next = Math.min(all.length, at + 1 + rand(10))
        a.push(...want.push(all.slice(at, next)))
        b.push(...got.push(all.slice(at, next)).map(text))
        at = next
      }
      a.push(...want.end())
      b.push(...got.end().map(text))
      expect(b).toEqual(a)
    }
  })
})
