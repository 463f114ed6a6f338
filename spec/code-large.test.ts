/**
 * Large cell output through dist/execd: a python value, output or display of megabytes goes
 * out as the same bytes it always did, the daemon answers others while it streams, and one
 * over the limit is an error event rather than a silent loss.
 */
import { describe, expect, test } from 'bun:test'
import { postJson } from './harness'
import { daemonAlone } from './kit/daemon-dir'
import { PYTHON, pythonAvailable } from './python-env'
import { daemonWithContext, expectWellFormed, ofType, runCode, type WireEvent } from './runtime-kit'

/** Each frame's data as the bytes sent (latin1, one char per byte) and parsed. */
async function rawFrames(res: Response): Promise<{ raw: string; event: WireEvent }[]> {
  const body = Buffer.from(await res.arrayBuffer())
  const frames: { raw: string; event: WireEvent }[] = []
  for (const block of body.toString('latin1').split('\n\n')) {
    const line = block.split('\n').find(l => l.startsWith('data: '))
    if (!line) continue
    const raw = line.slice(6)
    frames.push({ raw, event: JSON.parse(Buffer.from(raw, 'latin1').toString('utf8')) })
  }
  return frames
}

/** What execd writes for an output or result event: compact JSON in the contract's key order. */
function canonical(e: WireEvent): string {
  if (e.type === 'result') return JSON.stringify({ type: e.type, timestamp: e.timestamp, results: e.results })
  return JSON.stringify({ type: e.type, text: e.text, timestamp: e.timestamp })
}

describe.skipIf(pythonAvailable !== true)(`large python output (${PYTHON})`, () => {
  const fx = daemonWithContext('python')
  const post = (code: string) => postJson(fx.d, '/code', { code, context: { id: fx.id, language: 'python' } })

  test('a large value, print and display go out as the JSON execd writes for them, byte for byte', async () => {
    // Quotes, backslashes, controls, DEL, U+2028, non-ASCII and an astral character: every
    // escape JSON.stringify makes (or does not) in the one event, over the bulk threshold.
    const piece = 'é"\\\n\t\x01\x1f\x7f\u2028😀<'
    const code = `s = ${JSON.stringify(piece)} * 20000\nprint(s, end='')\ndisplay({'text/html': s}, raw=True)\ns`
    const frames = await rawFrames(await post(code))
    const s = piece.repeat(20000)
    expectWellFormed(
      frames.map(f => f.event),
      fx.id,
    )
    const big = frames.filter(f => f.raw.length > 100_000)
    expect(big.map(f => f.event.type)).toEqual(['stdout', 'result', 'result'])
    for (const f of big) expect(f.raw).toBe(Buffer.from(canonical(f.event)).toString('latin1'))
    expect(big[0]!.event.text).toBe(s)
    expect(big[1]!.event.results).toEqual({ 'text/html': s, 'text/plain': '', text: '' })
    expect(big[2]!.event.results.text).toBe(big[2]!.event.results['text/plain'])
  })

  test('a large bundle that is not all strings, or holds a lone surrogate, arrives the same', async () => {
    const events = (
      await rawFrames(
        await post(
          "display({'text/plain': '\\udc80' + 'y' * 70000}, raw=True)\ndisplay({'application/json': {'a': 'b' * 70000, 'n': 1.5}}, raw=True)",
        ),
      )
    ).map(f => f.event)
    const results = ofType(events, 'result').map(e => e.results)
    expect(results[0]['text/plain']).toBe('\udc80' + 'y'.repeat(70000))
    expect(results[1]['application/json']).toEqual({ a: 'b'.repeat(70000), n: 1.5 })
  })

  test('a /ping sent once a 32 MiB value’s cell has started is answered before the cell completes', async () => {
    const res = await post("'x' * (32 << 20)")
    const order: string[] = []
    const ping = fx.d.fetch('/ping').then(r => {
      order.push(`ping ${r.status}`)
    })
    const frames = await rawFrames(res)
    order.push('complete')
    await ping
    expect(order).toEqual(['ping 200', 'complete'])
    const value = ofType(
      frames.map(f => f.event),
      'result',
    )[0]!.results['text/plain']
    expect(value).toHaveLength((32 << 20) + 2)
  })

  // Output is sent in pieces of at most 1 Mi characters (spec/code-output-held): a display is one event.
  test('a display over the 128 MiB limit is an OutputTooLarge error, and the context goes on', async () => {
    const events = await runCode(fx.d, "display('x' * (128 * 1024 * 1024 + 1))\n'after'", {
      id: fx.id,
      language: 'python',
    })
    expectWellFormed(events, fx.id)
    expect(ofType(events, 'stdout')).toHaveLength(0)
    expect(ofType(events, 'error').map(e => e.error.ename)).toEqual(['OutputTooLarge'])
    expect(ofType(events, 'result').map(e => e.results['text/plain'])).toEqual(["'after'"])
  })

  test('a line over 64 Mi characters on the channel is dropped with an OutputTooLarge error', async () => {
    // What the driver does not send in bulk (a value not all strings) is a line: held as text.
    const code =
      "import os\nb = b'x' * (65 << 20)\nv = memoryview(b)\nwhile v:\n    v = v[os.write(3, v):]\nos.write(3, b'\\n')\n'ok'"
    const events = await runCode(fx.d, code, { id: fx.id, language: 'python' })
    expectWellFormed(events, fx.id)
    expect(ofType(events, 'error').map(e => e.error.ename)).toEqual(['OutputTooLarge'])
    expect(ofType(events, 'result').map(e => e.results['text/plain'])).toEqual(["'ok'"])
  })

  test('a malformed bulk message written to the channel by the cell is dropped, not sent', async () => {
    const code = 'import os\nos.write(3, b\'{"raw":5,"type":"result"}\\nab\\ncd\\n\')\n\'ok\''
    const frames = await rawFrames(await post(code))
    expectWellFormed(
      frames.map(f => f.event),
      fx.id,
    )
    expect(
      ofType(
        frames.map(f => f.event),
        'result',
      ).map(e => e.results['text/plain']),
    ).toEqual(["'ok'"])
  })
})

describe('large javascript values', () => {
  const fx = daemonAlone()

  test('a large value and display go out as the JSON execd writes for them, execution_count included', async () => {
    // Astral characters across the driver's pieces, escapes, a lone surrogate.
    const code = "const s = 'a😀\"\\\\\\n\\udc80é'.repeat(200000)\ndisplay.html('<p>' + s + '</p>')\n'<b>' + s + '</b>'"
    const frames = await rawFrames(await postJson(fx.d, '/code', { code, context: { language: 'javascript' } }))
    const events = frames.map(f => f.event)
    expectWellFormed(events)
    const s = 'a😀"\\\n\udc80é'.repeat(200000)
    const big = frames.filter(f => f.raw.length > 100_000)
    expect(big.map(f => f.event.results['text/html'])).toEqual([`<p>${s}</p>`, `<b>${s}</b>`])
    for (const f of big) expect(f.raw).toBe(Buffer.from(canonical(f.event)).toString('latin1'))
    // A ping right after init, then one every 3 s (the contract): a cell over 3 s, as on a loaded
    // machine, has more of them between its events.
    expect(events.slice(0, 2).map(e => e.type)).toEqual(['init', 'ping'])
    expect(events.filter(e => e.type !== 'ping').map(e => e.type)).toEqual([
      'init',
      'result',
      'execution_count',
      'result',
      'execution_complete',
    ])
  })

  test('a bundle that is not all strings arrives the same, its JSON structured, byte for byte', async () => {
    const code =
      "display({'application/json': {a: 'b'.repeat(70000), n: 1.5}, 'text/plain': 'j'});\n({_repr_json_: () => ({v: [1, 'x']})})"
    const frames = await rawFrames(await postJson(fx.d, '/code', { code, context: { language: 'javascript' } }))
    expectWellFormed(frames.map(f => f.event))
    const results = frames.filter(f => f.event.type === 'result')
    expect(results.map(f => f.event.results['application/json'])).toEqual([
      { a: 'b'.repeat(70000), n: 1.5 },
      { v: [1, 'x'] },
    ])
    for (const f of results) expect(f.raw).toBe(Buffer.from(canonical(f.event)).toString('latin1'))
  })

  // On the build before, a bundle holding an object, or a small value under a huge type, went
  // to execd as one message, read whole: each was a result event of 128 MiB and more (300 M
  // characters took execd to 1.75 and 2 GB).
  const OVER: [string, string][] = [
    ['a JSON object', "{'application/json': {a: 'x'.repeat(128 * 1024 * 1024)}}"],
    ['a type name', "{['text/' + 'x'.repeat(128 * 1024 * 1024)]: 'a'}"],
  ]
  for (const [what, bundle] of OVER)
    test(`a display of ${what} over the 128 MiB limit is an OutputTooLarge error, and the context goes on`, async () => {
      const events = await runCode(fx.d, `display(${bundle})\n'after'`, { language: 'javascript' })
      expectWellFormed(events)
      expect(ofType(events, 'error').map(e => e.error.ename)).toEqual(['OutputTooLarge'])
      expect(ofType(events, 'result').map(e => e.results['text/plain'])).toEqual(["'after'"])
    })
})
