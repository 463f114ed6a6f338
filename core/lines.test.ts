import { describe, expect, test } from 'bun:test'
import { LineSplitter } from './lines'

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
