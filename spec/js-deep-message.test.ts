/**
 * A javascript cell's own message nested tens of thousands deep, written whole on its driver's
 * channel (fd 4) or pipe (fd 3). The parser builds it without complaint, but JSON.stringify
 * recurses: a `result` 50,000 deep threw "Maximum call stack size exceeded" where execd framed
 * it, outside any handler, and execd ended with everything it had started; 30,000 deep held the
 * event loop 12 s, a display 34,000 deep 2.8 s (each of 68 KB). Such a message is dropped before
 * it is parsed, past python's and Jupyter's 1,000 levels; the driver's own deep values come as
 * pieces of their JSON, framed as they are, never stringified.
 */
import { describe, expect, test } from 'bun:test'
import { daemonAlone } from './kit/daemon-dir'
import { createContext, expectWellFormed, ofType, resultText, runCode } from './runtime-kit'
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
