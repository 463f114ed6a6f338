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
