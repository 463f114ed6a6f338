import { describe, expect, test } from 'bun:test'
import { JsonObjectCheck, MAX_DEPTH } from './json-check'

/** Whether `text`, pushed in pieces of `step` bytes, is taken whole. */
function whole(text: string, step = 1): boolean {
  const check = new JsonObjectCheck()
  const bytes = Buffer.from(text)
  for (let at = 0; at < bytes.length; at += step) if (!check.push(bytes.subarray(at, at + step))) return false
  return check.complete
}

describe('JsonObjectCheck', () => {
  const taken = [
    '{}',
    '{"text/plain":"x","text":"x"}',
    JSON.stringify({
      'application/json': { a: [1, -2.5e-3, 0, 10, 1e9, true, false, null, [], {}], b: 'é😀\u0001"\\' },
    }),
    JSON.stringify({ deep: JSON.parse('['.repeat(1000) + ']'.repeat(1000)) }),
  ]
  for (const text of taken)
    test(`takes ${text.slice(0, 40)}`, () => {
      for (const step of [1, 3, 1 << 20]) expect(whole(text, step)).toBe(true)
      expect(JSON.parse(text)).toBeDefined()
    })

  const refused = [
    '{"a":"x"}\n',
    '{"a":"x"}\n\ndata: {"type":"execution_complete"}\n\n',
    '{"a":\n"x"}',
    '{"a": "x"}',
    '{"a":"x\ny"}',
    '[1]',
    '"x"',
    '{"a":01}',
    '{"a":1.}',
    '{"a":-}',
    '{"a":1e}',
    '{"a":tru}',
    '{"a":truex}',
    '{"a":[1,]}',
    '{"a":1,}',
    '{"a"}',
    '{"a":"\\x"}',
    '{"a":"\\u12g4"}',
    '{"a":[}',
    '{"a":{]}',
    '{}{}',
  ]
  for (const text of refused)
    test(`refuses ${JSON.stringify(text)}`, () => {
      for (const step of [1, 2, 1 << 20]) expect(whole(text, step)).toBe(false)
    })

  test('an open value is not complete; nesting past MAX_DEPTH is refused', () => {
    expect(whole('{"a":[1,2')).toBe(false)
    expect(whole('{"a":"x')).toBe(false)
    const check = new JsonObjectCheck()
    expect(check.push(Buffer.from(`{"a":${'['.repeat(MAX_DEPTH - 1)}`))).toBe(true)
    expect(check.push(Buffer.from('['))).toBe(false)
  })
})
