import { expect, test } from 'bun:test'
import { encodeEvent, lineEvent, makeEvent, type EventType, type ExecEvent } from './events'

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

/** The key-order walk of every event: an object gathered in the reference key order, stringified. */
function walked(e: ExecEvent): string {
  const ORDER = ['type', 'text', 'execution_count', 'execution_time', 'timestamp', 'results', 'error']
  const empty = (v: unknown) => v === undefined || v === null || v === '' || v === 0 || v === false
  const out: Record<string, unknown> = {}
  for (const key of ORDER) if (key === 'timestamp' || !empty(e[key])) out[key] = e[key]
  for (const key of Object.keys(e)) if (!ORDER.includes(key) && !empty(e[key])) out[key] = e[key]
  return JSON.stringify(out)
}

test('flat events (init, ping, counts, completions) encode to the bytes of the key-order walk', () => {
  const at = 1796130668729
  const events: ExecEvent[] = [
    makeEvent('init', { text: 'c55d9cd8', execution_id: '71329fbf', state_lost: undefined }),
    makeEvent('init', { text: 'c55d9cd8', execution_id: '71329fbf', state_lost: true }),
    makeEvent('ping', { text: 'pong' }),
    makeEvent('execution_count', { execution_count: 2 }),
    makeEvent('execution_count', { execution_count: 0 }),
    makeEvent('execution_complete', { execution_time: 3 }),
    makeEvent('execution_complete', { execution_time: 0 }),
    makeEvent('execution_complete', { execution_time: -0 }),
    makeEvent('execution_complete', {}),
    makeEvent('execution_complete', { execution_time: NaN }),
    makeEvent('execution_complete', { execution_time: Infinity }),
    makeEvent('execution_complete', { execution_time: 1.5e-7 }),
    makeEvent('status', { text: 'events_dropped', dropped: { from: 1, to: 3 } }),
    makeEvent('status', { text: 'a "quoted" \\ \u2028 \ud800 é', extra: 'x"y', 'k"ey': 'v\n' }),
    makeEvent('status', { text: 7 as unknown as string }),
    makeEvent('status', { text: '', other: '', none: null, no: false, zero: 0 }),
    makeEvent('status', { '1': 'digits first', text: 't' }),
    makeEvent('status', { text: 't', fn: () => 1, sym: Symbol('s') }),
    makeEvent('error', { error: { ename: 'E', evalue: 'v', traceback: ['a'] } }),
    makeEvent('result', { results: { 'text/plain': '2', text: '2' } }),
    makeEvent('result', { results: undefined, error: undefined }),
    makeEvent('status', { error: 'a string error', after: 'x' }),
    { type: 'custom' as EventType, text: 'not a type of the contract', timestamp: at },
    { type: 'ping', text: 'pong', timestamp: NaN },
    { type: 'ping', text: 'pong', timestamp: '1' as unknown as number },
    { type: 'ping', text: 'pong', timestamp: at, n: 12345678901234567890 },
    Object.assign(Object.create({ inherited: 'x', text: 'from the prototype' }), { type: 'ping', timestamp: at }),
    JSON.parse(`{"type":"status","text":"t","__proto__":"own","timestamp":${at}}`),
  ]
  for (const e of events) expect(encodeEvent(e)).toBe(walked(e))
})

test('texts, extras and timestamps quoted without JSON.stringify give the walk’s bytes', () => {
  const texts = [
    '',
    'pong',
    'c55d9cd8',
    '😀 pair',
    '\udc00 low',
    'high \ud83d',
    'tab\t',
    '\u007f del',
    '\u2028\u2029',
    '"',
    '\\',
    'é',
  ]
  const stamps = [1796130668729, 1796130668729, 1796130668730, 0, -0, 1796130668729]
  let i = 0
  for (const text of texts)
    for (const key of ['execution_id', 'k"ey', 'execution_id', 'caché']) {
      const timestamp = stamps[i++ % stamps.length]!
      const e: ExecEvent = { type: 'init', text, [key]: text, timestamp }
      expect(encodeEvent(e)).toBe(walked(e))
    }
})
