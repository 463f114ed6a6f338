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
  test('a long line is cut the same whether its end came in the same read or later', () => {
    expect(all(['abcdefg\nhi\n'], 3)).toEqual(['abc', 'def', 'g', 'hi'])
    expect(all(['abcdef\n'], 3)).toEqual(['abc', 'def'])
    expect(all(['abcdef', '\n'], 3)).toEqual(['abc', 'def'])
  })
  test('a cut never splits a surrogate pair: that piece is one unit shorter', () => {
    expect(all(['ab😀cd\n'], 3)).toEqual(['ab', '😀c', 'd'])
    expect(all(['ab', '😀cd'], 3)).toEqual(['ab', '😀c', 'd'])
    expect(all(['a😀b😀c\n'], 2)).toEqual(['a', '😀', 'b', '😀', 'c'])
  })
})

/**
 * A line of 200,000 bytes (the case) in one chunk and in many chunkings, terminated or
 * not: always pieces of exactly 64 Ki units, the last shorter, whatever the reads.
 */
describe('a 200,000-byte line', () => {
  const MAX = 64 * 1024
  const cases: [string, string][] = [
    ['clean ASCII', 'x'.repeat(200_000)],
    ['ASCII JSON must escape', 'x\t'.repeat(100_000)],
    ['two-byte characters', 'é'.repeat(100_000)],
    // the 4-byte character straddles the first cut (units 65,535 and 65,536)
    ['a surrogate pair at a cut', 'x'.repeat(MAX - 1) + '😀' + 'y'.repeat(200_000 - MAX - 3)],
  ]
  /** Chunkings: one read, pipe-sized reads, odd sizes, and two reads split around each cut. */
  const chunkings = (n: number): number[][] => {
    const out = [[n], [65536], [65537], [4096], [1000], [7]].map(([size]) => {
      const at: number[] = []
      for (let i = size!; i < n; i += size!) at.push(i)
      return at
    })
    for (const edge of [MAX, 2 * MAX, 3 * MAX, n - 1])
      for (const d of [-4, -3, -2, -1, 0, 1, 2, 3]) if (edge + d > 0 && edge + d < n) out.push([edge + d])
    return out
  }
  const run = (split: LineSplitter | ByteLineSplitter, bytes: Uint8Array, cuts: number[]) => {
    const got: (string | Uint8Array)[] = []
    let from = 0
    for (const at of [...cuts, bytes.length]) {
      got.push(...split.push(bytes.slice(from, at)).map(l => (typeof l === 'string' ? l : l.slice())))
      from = at
    }
    got.push(...split.end())
    return got.map(l => (typeof l === 'string' ? l : new TextDecoder().decode(l)))
  }
  for (const [name, line] of cases)
    for (const end of ['\n', '\r\n', '']) {
      test(`${name}, ${end === '' ? 'unterminated' : JSON.stringify(end)}`, () => {
        const text = end === '' ? line : line + end + 'next\n'
        const bytes = enc(text)
        // the expected pieces, computed from the line's units
        const want: string[] = []
        for (let at = 0; at < line.length;) {
          let cut = Math.min(line.length, at + MAX)
          if (cut < line.length && line.charCodeAt(cut - 1) >= 0xd800 && line.charCodeAt(cut - 1) < 0xdc00) cut--
          want.push(line.slice(at, cut))
          at = cut
        }
        if (end !== '') want.push('next')
        if (name === 'clean ASCII') expect(want.map(l => l.length).slice(0, 4)).toEqual([65536, 65536, 65536, 3392])
        if (name === 'a surrogate pair at a cut') expect(want[0]!.length).toBe(MAX - 1)
        for (const cuts of chunkings(bytes.length)) {
          expect(run(new LineSplitter(), bytes, cuts)).toEqual(want)
          expect(run(new ByteLineSplitter(), bytes, cuts)).toEqual(want)
        }
      })
    }
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
      if (line === '') lines.push('\n')
      else lines.push(...pieces(line, maxLine))
      afterCR = c === 13
      start = i + 1
    }
  }
  tail += text.slice(start)
  if (tail !== '') lines.push(...pieces(tail, maxLine))
  return lines
}

/** A line's pieces of `max` units, a unit fewer where a cut would split a surrogate pair. */
function pieces(line: string, max: number): string[] {
  const out: string[] = []
  for (let at = 0; at < line.length;) {
    let piece = line.slice(at, at + max)
    const last = piece.charCodeAt(piece.length - 1)
    if (at + max < line.length && max > 1 && last >= 0xd800 && last < 0xdc00) piece = piece.slice(0, -1)
    out.push(piece)
    at += piece.length
  }
  return out
}

test('LineSplitter matches the reference splitting for random text cut at random points', () => {
  const alphabet = ['a', 'b', '\n', '\r', 'é', ' ', '😀']
  let seed = 7
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n
  for (let round = 0; round < 3000; round++) {
    let text = ''
    for (let k = rand(60); k > 0; k--) text += alphabet[rand(alphabet.length)]
    const bytes = enc(text)
    const max = rand(3) ? 1 + rand(12) : 1 << 20
    const s = new LineSplitter(max)
    const got: string[] = []
    for (let at = 0; at < bytes.length;) {
      const next = Math.min(bytes.length, at + 1 + rand(8))
      got.push(...s.push(bytes.slice(at, next)))
      at = next
    }
    got.push(...s.end())
    expect(got).toEqual(referenceSplit(text, max))
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

  /** pushRanges' lines with each range made the bytes it stands for (copied: the read may be reused). */
  const resolved = ({ source, lines }: { source: Uint8Array; lines: (Uint8Array | string | number)[] }) => {
    const out: (Uint8Array | string)[] = []
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i]!
      if (typeof l === 'number') out.push(source.slice(l, lines[++i] as number))
      else out.push(typeof l === 'string' ? l : l.slice())
    }
    return out
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
      const ranged = new ByteLineSplitter(max)
      const c: string[] = []
      for (let at = 0; at < all.length;) {
        const next = Math.min(all.length, at + 1 + rand(10))
        a.push(...want.push(all.slice(at, next)))
        b.push(...got.push(all.slice(at, next)).map(text))
        c.push(...resolved(ranged.pushRanges(all.slice(at, next))).map(text))
        at = next
      }
      a.push(...want.end())
      b.push(...got.end().map(text))
      c.push(...ranged.end().map(text))
      expect(b).toEqual(a)
      expect(c).toEqual(a)
      // the same stream in one read: the same lines, whatever the chunking was
      const whole = new ByteLineSplitter(max)
      expect([...whole.push(all.slice()), ...whole.end()].map(text)).toEqual(a)
      const wholeText = new LineSplitter(max)
      expect([...wholeText.push(all.slice()), ...wholeText.end()]).toEqual(a)
    }
  })

  test('every byte value at every place of a 16-byte step, at every offset: the chunk is clean only without one to escape', () => {
    // A chunk is looked at 16 bits a look-up, four to a step, from its first 8-byte boundary:
    // each byte value (line ends aside) at each place of a step and in the bytes before and
    // after the steps, in views at each offset mod 8.
    for (const offset of [0, 1, 2, 3, 4, 5, 6, 7])
      for (const place of [0, 1, 2, 5, 8, 9, 14, 15, 16, 17, 40, 95, 126, 127, 128, 129, 130])
        for (let byte = 0; byte < 256; byte++) {
          if (byte === 10 || byte === 13) continue
          const buffer = new Uint8Array(offset + 132).fill(0x41)
          const chunk = buffer.subarray(offset)
          chunk[131] = 10
          chunk[place] = byte
          const lines = new ByteLineSplitter().push(chunk)
          const clean = byte >= 0x20 && byte < 0x80 && byte !== 0x22 && byte !== 0x5c
          expect(lines.length).toBe(1)
          if ((typeof lines[0] !== 'string') !== clean) throw new Error(`byte ${byte} at ${place}, offset ${offset}`)
        }
  })

  test('long chunks at any byte offset: one byte to escape, or not ASCII, anywhere makes its line text', () => {
    // Chunks long enough to be looked at a word at a time, views into a buffer at every
    // offset mod 4, clean but for one byte of each kind at a random place (its line, and only
    // its line, must be text) or none.
    const odd = [[0x22], [0x5c], [13], [13, 10], [0], [9], [0x1f], [0x7f], [0x80], [0xc3, 0xa9], [0xff], [0xe2, 0x82]]
    let seed = 5
    // the generator's high bits: its low ones repeat within a few draws
    const rand = (n: number) => Math.floor(((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * n)
    for (let round = 0; round < 1500; round++) {
      const bytes: number[] = []
      for (let k = 64 + rand(600); k > 0; k--) bytes.push(rand(40) ? 0x20 + rand(0x5f) : 10)
      for (let i = 0; i < bytes.length; i++)
        if (bytes[i] === 0x22 || bytes[i] === 0x5c || bytes[i] === 0x7f) bytes[i] = 0x41
      const odds = rand(3)
      // The first read is a few bytes (the output's start is copied, looking for a BOM), the
      // next a view; an odd byte anywhere, or in the bytes before its first word or after the last.
      const first = 1 + rand(3)
      const at = () => [rand(bytes.length + 1), first + rand(5), bytes.length - rand(5)][rand(3)]!
      for (let k = 0; k < odds; k++) bytes.splice(at(), 0, ...odd[rand(odd.length)]!)
      const offset = rand(8)
      const buffer = new Uint8Array(offset + bytes.length)
      buffer.set(bytes, offset)
      const all = buffer.subarray(offset)
      const want = new LineSplitter()
      const got = new ByteLineSplitter()
      const ranged = new ByteLineSplitter()
      const a: string[] = []
      const b: (string | Uint8Array)[] = []
      const c: (string | Uint8Array)[] = []
      for (let at = 0; at < all.length;) {
        const next = at === 0 ? first : rand(4) ? all.length : Math.min(all.length, at + 1 + rand(300))
        a.push(...want.push(all.slice(at, next)))
        b.push(...got.push(all.subarray(at, next)).map(l => (typeof l === 'string' ? l : l.slice())))
        c.push(...resolved(ranged.pushRanges(all.subarray(at, next))))
        at = next
      }
      a.push(...want.end())
      b.push(...got.end())
      c.push(...ranged.end())
      expect(b.map(text)).toEqual(a)
      // the same lines, the clean ones whole in a read as ranges of it
      expect(c.map(text)).toEqual(a)
      expect(c.map(l => typeof l)).toEqual(b.map(l => typeof l))
      // a line with none of the odd bytes stays bytes
      for (const l of b) if (typeof l === 'string' && l !== '\n') expect(/[^ !#-[\]-~]/.test(l)).toBe(true)
    }
  })
})
