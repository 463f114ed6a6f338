/**
 * A cell's own message nested tens of thousands deep, written whole where its driver speaks to
 * execd. The parser builds it without complaint, but JSON.stringify recurses: a javascript
 * `result` 50,000 deep (on its channel, fd 4, or its pipe, fd 3) threw "Maximum call stack size
 * exceeded" where execd framed it, outside any handler, and execd ended with everything it had
 * started; 30,000 deep held the event loop 12 s, a display 34,000 deep 2.8 s (each of 68 KB).
 * Python dropped a deep result only: a stdout with a member 50,000 deep held the loop 6 s and
 * failed its request (500). Such a message is dropped before it is parsed, past 1,000 levels
 * (core/json-depth.ts); the drivers' own deep values come as pieces of their JSON, never parsed.
 */
import { describe, expect, test } from 'bun:test'
import { daemonAlone } from './kit/daemon-dir'
import { pythonAvailable } from './python-env'
import { createContext, expectWellFormed, ofType, resultText, runCode, stdoutText } from './runtime-kit'
import { cellWithin } from './kit/interpreter-replaced'

/** A message `{t, bundle: {"application/json": [[…]]}}` nested `depth` deep, as a JSON text. */
const deepMessage = (t: string, depth: number) =>
  `'{"t":"${t}","bundle":{"application/json":' + '['.repeat(${depth}) + ']'.repeat(${depth}) + '}}'`

/** Writes `text` whole on fd `fd`: a JSON line on the channel, a message frame on the pipe. */
const written = (fd: 3 | 4, text: string) =>
  fd === 4
    ? `require('node:fs').writeSync(4, ${text} + '\\n')`
    : `;((b, h) => (h.writeUInt32LE(b.length, 1), require('node:fs').writeSync(3, Buffer.concat([h, b]))))(
  Buffer.from(${text}), Buffer.from([3, 0, 0, 0, 0]))`

describe('a javascript cell’s own message nested deep', () => {
  const fx = daemonAlone()

  for (const fd of [4, 3] as const) {
    test(`a result 50,000 deep on fd ${fd}: dropped; execd, the interpreter and its state go on`, async () => {
      const id = await createContext(fx.d, 'javascript')
      const pid = resultText(await runCode(fx.d, 'globalThis.kept = 7; process.pid', { id }))[0]
      const events = await cellWithin(fx.d, id, `${written(fd, deepMessage('result', 50_000))}; undefined`)
      expectWellFormed(events, id)
      expect(ofType(events, 'error')).toEqual([])
      expect(ofType(events, 'result')).toEqual([])
      expect(resultText(await runCode(fx.d, '[process.pid, kept].join()', { id }))).toEqual([`'${pid},7'`])
      expect((await fx.d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).status).toBe(200)
    }, 60_000)

    test(`a display 2,000 deep on fd ${fd} is dropped; one 100 deep is shown`, async () => {
      const id = await createContext(fx.d, 'javascript')
      const code = `${written(fd, deepMessage('display', 2000))}; ${written(fd, deepMessage('display', 100))}; await Bun.sleep(100); 42`
      const events = await cellWithin(fx.d, id, code)
      expectWellFormed(events, id)
      const shown = ofType(events, 'result').map(e => JSON.stringify(e.results['application/json'] ?? null).length)
      expect(shown).toEqual([200, 4])
      expect(resultText(events).filter(t => t !== undefined)).toEqual(['42'])
      expect((await fx.d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).status).toBe(200)
    }, 60_000)
  }
})

describe.skipIf(pythonAvailable !== true)('a python cell’s own message nested deep', () => {
  const fx = daemonAlone()

  test('a stdout on fd 3 with a member 50,000 deep: dropped; the cell, execd and the state go on', async () => {
    const id = await createContext(fx.d, 'python')
    await runCode(fx.d, 'kept = 7', { id })
    const line = `'{"type":"stdout","text":"forged","x":' + '[' * 50000 + ']' * 50000 + '}\\n'`
    const events = await cellWithin(fx.d, id, `import os\nos.write(3, (${line}).encode())\nprint('mine')\nkept`)
    expectWellFormed(events, id)
    expect(ofType(events, 'error')).toEqual([])
    expect(stdoutText(events)).toBe('mine\n')
    expect(resultText(events)).toEqual(['7'])
    expect((await fx.d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).status).toBe(200)
  }, 60_000)
})
