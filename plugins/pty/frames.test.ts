import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { MAX_DIMENSION, parseFrame } from './frames'

const text = (frame: unknown) => parseFrame(JSON.stringify(frame))

describe('parseFrame', () => {
  test('the reference frames parse as they are', () => {
    expect(parseFrame(new Uint8Array([0, 104, 105]))).toEqual({ type: 'stdin', data: new Uint8Array([104, 105]) })
    expect(text({ type: 'stdin', data: 'ls\n' })).toEqual({ type: 'stdin', data: 'ls\n' })
    expect(text({ type: 'resize', cols: 120, rows: 40 })).toEqual({ type: 'resize', cols: 120, rows: 40 })
    expect(text({ type: 'signal', signal: 'SIGINT' })).toEqual({ type: 'signal', signal: 'SIGINT' })
    expect(text({ type: 'ping' })).toEqual({ type: 'ping' })
  })

  test('resize sizes out of range are clamped into 1..MAX_DIMENSION, fractions truncated', () => {
    for (const [cols, rows, want] of [
      [65536, 24, [MAX_DIMENSION, 24]],
      [1e9, 2 ** 32, [MAX_DIMENSION, MAX_DIMENSION]],
      [80, 70000, [80, MAX_DIMENSION]],
      [0, -5, [1, 1]],
      [80.9, 24.2, [80, 24]],
      [-1e308, 1e308, [1, MAX_DIMENSION]],
    ] as const) {
      expect(text({ type: 'resize', cols, rows })).toEqual({ type: 'resize', cols: want[0], rows: want[1] })
    }
  })

  test('resize without numbers is invalid, not a default size', () => {
    for (const bad of [{ cols: '80', rows: 24 }, { cols: 80 }, { cols: null, rows: 1 }, { cols: [1], rows: {} }]) {
      expect(text({ type: 'resize', ...bad }).type).toBe('invalid')
    }
    // NaN and Infinity have no JSON spelling; 1e999 parses as Infinity.
    expect(parseFrame('{"type":"resize","cols":1e999,"rows":24}').type).toBe('invalid')
  })

  test('every kind of bad frame is invalid with a reason', () => {
    const bad: (string | Uint8Array)[] = [
      new Uint8Array(0),
      new Uint8Array([1, 2, 3]),
      new Uint8Array([0xff]),
      'not json',
      '',
      'null',
      '[1,2]',
      '42',
      '"stdin"',
      '{}',
      '{"type":"stdin","data":42}',
      '{"type":"signal","signal":"SIGSTOP"}',
      '{"type":"signal"}',
      '{"type":{"nested":true}}',
      '{"type":"__proto__"}',
      '{"type":{"toString":1}}',
      '{"type":"signal","signal":{"toString":1,"valueOf":2}}',
    ]
    for (const frame of bad) {
      const parsed = parseFrame(frame)
      expect(parsed.type).toBe('invalid')
      if (parsed.type === 'invalid') expect(parsed.error.length).toBeGreaterThan(0)
    }
  })

  test('a frame nested past the JSON depth limit is refused before it is parsed', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000)
    for (const frame of [deep, `{"type":"resize","cols":${deep}}`]) {
      const parsed = parseFrame(frame)
      expect(parsed.type).toBe('invalid')
      if (parsed.type === 'invalid') expect(parsed.error).toContain('nest at most 64 levels')
    }
    expect(parseFrame(`{"type":"resize","cols":80,"rows":24,"x":${'['.repeat(60)}${']'.repeat(60)}}`).type).toBe(
      'resize',
    )
  })

  test('an unknown binary prefix names itself in hex', () => {
    expect(parseFrame(new Uint8Array([0x7f, 0]))).toEqual({
      type: 'invalid',
      error: 'unknown binary frame type 0x7f (only 0x00 stdin)',
    })
  })

  test('messages quoting a huge value stay short', () => {
    const parsed = text({ type: 'x'.repeat(1 << 20) })
    expect(parsed.type === 'invalid' && parsed.error.length).toBeLessThan(120)
  })

  test('no input throws, and every resize that parses is in range', () => {
    const anyJson = fc.oneof(
      fc.json(),
      fc
        .record({
          type: fc.constantFrom('stdin', 'resize', 'signal', 'ping', 'bogus'),
          data: fc.anything(),
          cols: fc.oneof(fc.double(), fc.integer(), fc.anything()),
          rows: fc.oneof(fc.double(), fc.integer(), fc.anything()),
          signal: fc.oneof(fc.constantFrom('SIGINT', 'SIGKILL', 'SIGUSR1'), fc.string()),
        })
        .map(f => JSON.stringify(f) ?? 'undefined'),
    )
    fc.assert(
      fc.property(fc.oneof(anyJson, fc.string(), fc.uint8Array({ maxLength: 64 })), frame => {
        const parsed = parseFrame(frame)
        if (parsed.type === 'resize') {
          for (const n of [parsed.cols, parsed.rows]) {
            expect(Number.isInteger(n) && n >= 1 && n <= MAX_DIMENSION).toBe(true)
          }
        }
      }),
      { numRuns: 2000 },
    )
  })
})
