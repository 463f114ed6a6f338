import { expect, test } from 'bun:test'
import { encodeEvent, lineEvent, makeEvent } from './events'

test('output lines encode to the same bytes on the short path as through the key-order walk', () => {
  for (const text of [
    'hi',
    'a "quoted" \\ line',
    'é\u2028\t\u0001',
    '\ud800 lone',
    '\n',
    'emoji 😀 and \u007f',
    'plain é ü',
    '\udc00\ud800',
  ]) {
    for (const type of ['stdout', 'stderr'] as const) {
      const e = lineEvent(type, text)
      // The walk's output, built by hand in the reference key order.
      expect(encodeEvent(e)).toBe(JSON.stringify({ type, text, timestamp: e.timestamp }))
      const made = makeEvent(type, { text })
      made.timestamp = e.timestamp
      expect(encodeEvent(made)).toBe(encodeEvent(e))
    }
  }
})

test('line events with extra keys or no text still take the key-order walk', () => {
  const e = { ...lineEvent('stdout', 'x'), execution_id: 'abc' }
  expect(encodeEvent(e)).toBe(`{"type":"stdout","text":"x","timestamp":${e.timestamp},"execution_id":"abc"}`)
  const empty = lineEvent('stderr', '')
  expect(encodeEvent(empty)).toBe(`{"type":"stderr","timestamp":${empty.timestamp}}`)
})
