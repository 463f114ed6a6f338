import { expect, test } from 'bun:test'
import { JsonLines, readJsonLines, StringsJson } from './json-lines'

test('lines split across chunks come whole, several in one chunk come apart', () => {
  const l = new JsonLines()
  expect(l.push('{"a":')).toEqual([])
  expect(l.push('1}\n{"b":2}\n{"c"')).toEqual(['{"a":1}', '{"b":2}'])
  expect(l.push(':3}\n\n')).toEqual(['{"c":3}', ''])
})

test('a line longer than the limit is dropped up to its newline; the next one comes', () => {
  const l = new JsonLines(8)
  expect(l.push('12345')).toEqual([])
  expect(l.push('6789')).toEqual([])
  expect(l.push('more\nok')).toEqual([])
  expect(l.push('\n')).toEqual(['ok'])
})

test('a long line in many chunks is searched once per chunk', () => {
  const l = new JsonLines()
  const chunk = 'x'.repeat(64 * 1024)
  for (let i = 0; i < 512; i++) expect(l.push(chunk)).toEqual([])
  const [line] = l.push('\n')
  expect(line!.length).toBe(512 * 64 * 1024)
})

test("a channel's messages come in order, each awaited, a character split between reads whole; a line not JSON is told and skipped", async () => {
  const bytes = new TextEncoder().encode('{"t":"ready"}\nnot json\n{"v":"é"}\n')
  const at = bytes.indexOf(0xc3) + 1 // inside the two bytes of é
  async function* reads() {
    yield bytes.subarray(0, at)
    yield bytes.subarray(at)
  }
  const seen: string[] = []
  await readJsonLines<{ t?: string; v?: string }>(
    reads(),
    async m => {
      await Bun.sleep(1)
      seen.push(JSON.stringify(m))
    },
    line => seen.push(`malformed: ${line}`),
  )
  expect(seen).toEqual(['{"t":"ready"}', 'malformed: not json', '{"v":"é"}'])
})

test('StringsJson takes one compact string or object of strings, in any chunks, and nothing else', () => {
  const check = (top: 'string' | 'object', ...chunks: string[]) => {
    const s = new StringsJson(top)
    return chunks.every(c => s.push(Buffer.from(c))) && s.complete
  }
  expect(check('string', '"a\\"b\\\\\\u00e9', 'c\\n"')).toBe(true)
  expect(check('object', '{"text/plain":"a",', '"text":"\\u', '0041"}')).toBe(true)
  expect(check('object', '{}')).toBe(true)
  expect(check('string', '"a"', ' ')).toBe(false)
  expect(check('string', '"a\nb"')).toBe(false) // a raw newline would split the frame
  expect(check('string', '"a\\x"')).toBe(false)
  expect(check('string', '"a')).toBe(false)
  expect(check('object', '{"a":1}')).toBe(false)
  expect(check('object', '{"a" :"b"}')).toBe(false)
  expect(check('object', '"a"')).toBe(false)
  expect(check('string', '{"a":"b"}')).toBe(false)
})

test('StringsJson reads long chunks at any offset as it reads them a byte at a time', () => {
  // Long chunks are read four bytes at a time where a string holds nothing special: each case is
  // a mostly plain string or object with a quote, backslash, control byte or non-ASCII byte put
  // somewhere, cut at random points out of a buffer at a random offset, against the byte-wise read.
  let seed = 52
  const random = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n
  const specials = ['"', '\\', '\\\\', '\\"', '\\n', '\\u00e9', '\\u00', '\n', '\u0001', 'é', '\\x', '","b":"', '}']
  let valid = 0
  for (let round = 0; round < 3000; round++) {
    const top = random(4) === 0 ? 'object' : 'string'
    let body = 'x'.repeat(random(300))
    for (let k = random(3); k > 0; k--) {
      const at = random(body.length + 1)
      body = body.slice(0, at) + specials[random(specials.length)] + body.slice(at)
    }
    const text = top === 'string' ? `"${body}"` : `{"a":"${body}"}`
    const bytes = Buffer.from(text)
    const pad = random(8)
    const backing = Buffer.alloc(bytes.length + pad)
    bytes.copy(backing, pad)
    const whole = backing.subarray(pad)
    const fast = new StringsJson(top)
    let ok = true
    for (let at = 0; at < whole.length && ok;) {
      const end = random(3) === 0 ? whole.length : Math.min(whole.length, at + 1 + random(200))
      ok = fast.push(whole.subarray(at, end))
      at = end
    }
    const slow = new StringsJson(top)
    let slowOk = true
    for (let i = 0; i < whole.length && slowOk; i++) slowOk = slow.push(whole.subarray(i, i + 1))
    expect([ok, ok && fast.complete]).toEqual([slowOk, slowOk && slow.complete])
    if (ok && fast.complete) valid++
  }
  expect(valid).toBeGreaterThan(300) // both answers are exercised
})
