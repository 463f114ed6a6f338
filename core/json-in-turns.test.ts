import { describe, expect, test } from 'bun:test'
import { LONG_STRING, parseJsonInTurns } from './json-in-turns'
import type { ExecdError } from './errors'

/** `text` cut every `every` characters, and once more at each of `at`. */
function cut(text: string, every: number, at: number[] = []): string[] {
  const ends = new Set(at)
  for (let i = every; i < text.length; i += every) ends.add(i)
  const sorted = [...ends].filter(e => e > 0 && e < text.length).sort((a, b) => a - b)
  return [0, ...sorted].map((start, i) => text.slice(start, sorted[i] ?? text.length))
}

/** Every escape JSON has, and a surrogate pair raw and escaped: a long string of them. */
const escapes = (n: number) => '\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00😀é x'.repeat(n)

describe('parseJsonInTurns', () => {
  test('gives what JSON.parse gives, however the text is cut: escapes, pairs, long keys, __proto__', async () => {
    const long = escapes(Math.ceil((10 * LONG_STRING) / 40))
    const text = `{"code":"${long}","context":{"id":"x","language":"python"},"list":["${long}",1,null,"short"],"${long}":true,"__proto__":"${long}"}`
    const expected = JSON.parse(text)
    // Cut at every offset within one escape (\u00e9 among them) of a part's end, and at odd sizes.
    const at = text.indexOf('\\u00e9')
    // Pieces are cut where parts end: parts of sizes that put some of those cuts inside escapes.
    for (const [every, extra] of [
      [4096, []],
      [65_536, [at, at + 1, at + 2, at + 3, at + 5, at + 6]],
      [65_537, []],
      [65_539, []],
      [65_543, []],
      [777, [text.indexOf('\\\\') + 1]],
    ] as [number, number[]][]) {
      const got = (await parseJsonInTurns(cut(text, every, extra))) as Record<string, unknown>
      expect(got).toEqual(expected)
      expect(Object.hasOwn(got, '__proto__')).toBe(true)
      expect(Object.getPrototypeOf(got)).toBe(Object.prototype)
    }
  })

  test('a body without long strings is parsed as it is', async () => {
    expect(await parseJsonInTurns(['{"a":', '"b","c":[1,', '2]}'])).toEqual({ a: 'b', c: [1, 2] })
  })

  test('a long string that is not JSON is a 400, as the whole parse would make it', async () => {
    const bad = [
      `{"code":"${'x'.repeat(LONG_STRING)}\\q"}`, // an escape JSON has not
      `{"code":"${'x'.repeat(LONG_STRING)}\u0001"}`, // a control character unescaped
      `{"code":"${'x'.repeat(LONG_STRING)}`, // never ended
      `{"code":"${'x'.repeat(LONG_STRING)}\\u12"}`, // an escape cut short
    ]
    for (const text of bad) {
      const error = await parseJsonInTurns(cut(text, 65_536)).then(
        () => undefined,
        (e: ExecdError) => e,
      )
      expect(`${error?.status} ${error?.code}`).toBe('400 INVALID_REQUEST_BODY')
    }
  })
})

/** How many turns the event loop took while `work` ran: a setImmediate chain counts them. */
async function turnsDuring(work: () => Promise<unknown>): Promise<number> {
  let turns = 0
  let running = true
  const tick = () => {
    turns++
    if (running) setImmediate(tick)
  }
  setImmediate(tick)
  await work()
  running = false
  return turns
}

test('many long strings give the loop as many turns as one long string of their length', async () => {
  // 64 strings just long enough to be set aside: each was decoded whole, none with a turn after it.
  const each = 'x'.repeat(LONG_STRING)
  const many = `{"code":"1","list":[${Array.from({ length: 64 }, () => `"${each}"`).join(',')}]}`
  const one = `{"code":"1","list":["${'x'.repeat(64 * LONG_STRING)}"]}`
  const manyTurns = await turnsDuring(() => parseJsonInTurns(cut(many, 65_536)))
  const oneTurns = await turnsDuring(() => parseJsonInTurns(cut(one, 65_536)))
  expect(manyTurns).toBeGreaterThanOrEqual(oneTurns * 0.75)
})
