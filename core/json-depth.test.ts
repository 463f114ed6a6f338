import { describe, expect, test } from 'bun:test'
import { nestedDeeperThan } from './json-depth'

describe('nestedDeeperThan', () => {
  test('counts arrays and objects, not brackets inside strings', () => {
    expect(nestedDeeperThan('[[[1]]]', 3)).toBe(false)
    expect(nestedDeeperThan('[[[[1]]]]', 3)).toBe(true)
    expect(nestedDeeperThan('{"a":{"b":[{}]}}', 3)).toBe(true)
    expect(nestedDeeperThan('{"a":{"b":"[[[[{{{{"}}', 3)).toBe(false)
    expect(nestedDeeperThan('[1],[2],[3],[4]', 1)).toBe(false)
  })

  test('a quote after an odd run of backslashes is inside the string; after an even run it ends it', () => {
    expect(nestedDeeperThan(String.raw`["\"[[[["]`, 2)).toBe(false)
    expect(nestedDeeperThan(String.raw`["\\\"[[[["]`, 2)).toBe(false)
    expect(nestedDeeperThan(String.raw`["\\",[[[1]]]]`, 3)).toBe(true)
    expect(nestedDeeperThan(String.raw`["\\\\",[1]]`, 1)).toBe(true)
  })

  test('agrees with the nesting JSON.parse builds', () => {
    const depth = (v: unknown): number =>
      v !== null && typeof v === 'object' ? 1 + Math.max(0, ...Object.values(v).map(depth)) : 0
    const values = [
      { a: [1, { b: 'x"]]\\' }], c: '\\' },
      [[['\\"'], { '[': '{' }]],
      { '\\': { '"': [[[]]] } },
      'just "text"',
      [],
    ]
    for (const v of values) {
      const text = JSON.stringify(v)
      const d = depth(v)
      expect(nestedDeeperThan(text, d)).toBe(false)
      if (d > 0) expect(nestedDeeperThan(text, d - 1)).toBe(true)
    }
  })

  test('text that is no JSON is left to the parser', () => {
    expect(nestedDeeperThan('["unterminated [[[[[', 2)).toBe(false)
    expect(nestedDeeperThan('', 0)).toBe(false)
  })

  test('millions deep stops at the limit; megabytes of text are searched, not walked', () => {
    expect(nestedDeeperThan('['.repeat(4_000_000) + ']'.repeat(4_000_000), 1000)).toBe(true)
    const text = JSON.stringify({ text: 'x'.repeat(8_000_000), more: ['\\'.repeat(1000)] })
    expect(nestedDeeperThan(text, 2)).toBe(false)
    expect(nestedDeeperThan(text, 1)).toBe(true)
  })
})
