import { describe, expect, test } from 'bun:test'
import { DepthScanner, parseJsonBody, readJsonText, readRequestJson } from './body'
import { ExecdError } from './errors'

const streamOf = (...chunks: (string | Uint8Array)[]) =>
  new ReadableStream<Uint8Array>({
    start(c) {
      for (const chunk of chunks) c.enqueue(typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk)
      c.close()
    },
  })

const codeOf = async (p: Promise<unknown> | (() => unknown)) => {
  try {
    await (typeof p === 'function' ? p() : p)
  } catch (err) {
    return err instanceof ExecdError ? `${err.status} ${err.code}` : String(err)
  }
  return 'ok'
}

describe('DepthScanner', () => {
  test('64 levels pass, 65 fail, counted across chunks', async () => {
    expect(await codeOf(() => new DepthScanner().feed('['.repeat(64)))).toBe('ok')
    const s = new DepthScanner()
    s.feed('['.repeat(40))
    expect(await codeOf(() => s.feed('{"a":'.repeat(25)))).toBe('400 INVALID_REQUEST_BODY')
  })

  test('brackets inside strings and escaped quotes do not count', async () => {
    const s = new DepthScanner(2)
    s.feed('{"a":"[[[[\\"[[[[", "b":')
    s.feed('"\\\\"}')
    expect(await codeOf(() => s.feed('[[1]]'))).toBe('ok')
  })

  test('strings skipped by search agree with a walk of every character, however the text is cut', () => {
    // The scan as it was, one character at a time: the reference.
    const walk = (chunks: string[], max: number, maxValues: number) => {
      let [depth, inString, escaped, commas] = [0, false, false, 0]
      for (const text of chunks)
        for (const ch of text) {
          if (inString) {
            if (escaped) escaped = false
            else if (ch === '\\') escaped = true
            else if (ch === '"') inString = false
          } else if (ch === '"') inString = true
          else if (ch === ',') {
            if (++commas >= maxValues) return 'values'
          } else if (ch === '{' || ch === '[') {
            if (++depth > max) return 'depth'
          } else if (ch === '}' || ch === ']') depth--
        }
      return `ok ${depth} ${inString} ${escaped} ${commas}`
    }
    const scan = (chunks: string[], max: number, maxValues: number) => {
      const s = new DepthScanner(max, maxValues)
      try {
        for (const c of chunks) s.feed(c)
      } catch (err) {
        return (err as Error).message.includes('nested') ? 'depth' : 'values'
      }
      const state = s as unknown as Record<string, unknown>
      return `ok ${state.depth} ${state.inString} ${state.escaped} ${state.commas}`
    }
    let seed = 7
    const next = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n)
    for (let t = 0; t < 20_000; t++) {
      const text = Array.from({ length: next(24) }, () => '"\\[]{},a'[next(9)]).join('')
      const chunks: string[] = []
      for (let from = 0; from < text.length;) {
        const to = from + 1 + next(6)
        chunks.push(text.slice(from, to), ...(next(5) === 0 ? [''] : []))
        from = to
      }
      const [max, maxValues] = [1 + next(4), 1 + next(6)]
      expect(scan(chunks, max, maxValues)).toBe(walk(chunks, max, maxValues))
    }
  })

  test('members and elements are counted by their commas across chunks, not those inside strings', async () => {
    const s = new DepthScanner(64, 5)
    s.feed('{"a":"1,2,3,4,5,6",')
    s.feed('"b":[1,2')
    expect(await codeOf(() => s.feed(',3],"c":4}'))).toBe('ok')
    expect(await codeOf(() => s.feed(','))).toBe('400 INVALID_REQUEST_BODY')
  })
})

describe('readJsonText', () => {
  const limits = { maxBytes: 16, timeoutMs: 0 }
  test('joins chunks, and a UTF-8 character split between chunks survives', async () => {
    const bytes = new TextEncoder().encode('{"é":1}')
    expect(await readJsonText(streamOf(bytes.slice(0, 3), bytes.slice(3)), limits)).toBe('{"é":1}')
  })

  test('over maxBytes is 413, invalid UTF-8 is 400, no body is empty text', async () => {
    expect(await codeOf(readJsonText(streamOf('{"a":"', 'x'.repeat(20)), limits))).toBe('413 PAYLOAD_TOO_LARGE')
    expect(await codeOf(readJsonText(streamOf(new Uint8Array([0x22, 0xff, 0x22])), limits))).toBe(
      '400 INVALID_REQUEST_BODY',
    )
    expect(await readJsonText(null, limits)).toBe('')
  })

  test('a body that does not finish in time is 408', async () => {
    const never = new ReadableStream<Uint8Array>({ start: c => c.enqueue(new Uint8Array([0x7b])) })
    expect(await codeOf(readJsonText(never, { maxBytes: 16, timeoutMs: 50 }))).toBe('408 REQUEST_TIMEOUT')
  })
})

describe('readRequestJson', () => {
  const limits = { maxBytes: 16, timeoutMs: 0 }
  const post = (body: BodyInit, headers: Record<string, string> = {}) =>
    new Request('http://localhost/x', { method: 'POST', body, headers })

  test('a body of announced length is taken whole and checked like a streamed one', async () => {
    expect(await readRequestJson(post('{"é":1}'), limits)).toBe('{"é":1}')
    expect(await codeOf(readRequestJson(post(new Uint8Array([0x22, 0xff, 0x22])), limits))).toBe(
      '400 INVALID_REQUEST_BODY',
    )
    expect(await codeOf(readRequestJson(post('['.repeat(65)), { maxBytes: 100, timeoutMs: 0 }))).toBe(
      '400 INVALID_REQUEST_BODY',
    )
  })

  test('a whole body skips the scan only where no limit can be passed: the same answers', async () => {
    const wide = { maxBytes: 1 << 20, timeoutMs: 0 }
    const read = (text: string) => codeOf(readRequestJson(post(text), wide))
    // Brackets at the limit, past it, mixed, and in strings (counted, then scanned: they pass).
    expect(await read(`${'['.repeat(64)}${']'.repeat(64)}`)).toBe('ok')
    expect(await read('['.repeat(65))).toBe('400 INVALID_REQUEST_BODY')
    expect(await read(`${'{"a":'.repeat(33)}${'['.repeat(32)}`)).toBe('400 INVALID_REQUEST_BODY')
    expect(await read(`{"a":"${'{['.repeat(100)}"}`)).toBe('ok')
    // Values: 99,999 commas pass, 100,000 do not, whatever the brackets.
    expect(await read(`[${'0,'.repeat(99_999)}0]`)).toBe('ok')
    expect(await read(`[${'0,'.repeat(100_000)}0]`)).toBe('400 INVALID_REQUEST_BODY')
  })

  test('an announced length over maxBytes is 413 without waiting for the body', async () => {
    // A body that never comes: waiting for it would hang the test.
    const request = post(new ReadableStream<Uint8Array>(), { 'content-length': '17' })
    expect(await codeOf(readRequestJson(request, limits))).toBe('413 PAYLOAD_TOO_LARGE')
  })

  test('a body without a length is streamed under the same limits', async () => {
    expect(await codeOf(readRequestJson(post(streamOf('{"a":"', 'x'.repeat(20))), limits))).toBe(
      '413 PAYLOAD_TOO_LARGE',
    )
    expect(await readRequestJson(post(streamOf('{"a":', '1}')), limits)).toBe('{"a":1}')
  })

  test('an announced body that does not arrive in time is 408', async () => {
    const never = new ReadableStream<Uint8Array>({ start: c => c.enqueue(new Uint8Array([0x7b])) })
    const request = post(never, { 'content-length': '8' })
    expect(await codeOf(readRequestJson(request, { maxBytes: 16, timeoutMs: 50 }))).toBe('408 REQUEST_TIMEOUT')
  })
})

describe('parseJsonBody', () => {
  test('exactly one value, of the declared shape', async () => {
    expect(parseJsonBody('{"a":1}', 'object')).toEqual({ a: 1 })
    expect(parseJsonBody('[1]', 'array')).toEqual([1])
    for (const bad of ['{"a":1}{"b":2}', "{'a':1}", '{"a":']) {
      expect(await codeOf(() => parseJsonBody(bad, 'object'))).toBe('400 INVALID_REQUEST_BODY')
    }
    for (const wrong of ['[]', 'null', '1', '"s"']) {
      expect(await codeOf(() => parseJsonBody(wrong, 'object'))).toBe('400 INVALID_REQUEST_BODY')
    }
    expect(await codeOf(() => parseJsonBody('{}', 'array'))).toBe('400 INVALID_REQUEST_BODY')
  })
})
