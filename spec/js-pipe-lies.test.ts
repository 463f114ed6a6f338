/**
 * A javascript cell that writes on its driver's pipe (fd 3) a frame head announcing more bytes
 * than follow: the pipe took the driver's `done`, and everything after it, as that frame's bytes,
 * and the cell ran for good (an interrupt's `done` was taken too; the context wedged until
 * deleted). The driver says on its other channel how far the pipe went with the `done` in it;
 * read that far without the `done`, the interpreter is stopped and the cell ends.
 */
import { describe, expect, test } from 'bun:test'
import { existsSync } from 'node:fs'
import { postJson, readSse, type Daemon } from './harness'
import { daemonAlone } from './kit/daemon-dir'
import { createContext, expectWellFormed, ofType, resultText, runCode, type WireEvent } from './runtime-kit'

/** Runs `code` in context `id`; gives up (and fails) after 20 s rather than hang the suite. */
async function cell(d: Daemon, id: string, code: string): Promise<WireEvent[]> {
  const res = await postJson(d, '/code', { code, context: { id } }, { signal: AbortSignal.timeout(20_000) })
  return (await readSse(res)).map(f => f.data as WireEvent)
}

/** Frame heads: [kind (1 stdout, 2 stderr, 3 message), length as u32 LE]. */
const LIES: [string, number[]][] = [
  ['a stdout frame of 2 GiB', [1, 0, 0, 0, 0x80]],
  ['a stderr frame of 1 MiB', [2, 0, 0, 0x10, 0]],
  ['a message of 1 GiB, too large to take and skipped', [3, 0, 0, 0, 0x40]],
]

describe('a javascript cell that lies on its driver’s pipe (fd 3) about a frame’s length', () => {
  const fx = daemonAlone()

  for (const [name, head] of LIES) {
    test(`${name}: the cell ends with the interpreter stopped; the next starts a fresh one`, async () => {
      const id = await createContext(fx.d, 'javascript')
      const pid = Number(resultText(await runCode(fx.d, 'process.pid', { id }))[0])
      const events = await cell(fx.d, id, `require('node:fs').writeSync(3, Buffer.from(${JSON.stringify(head)})); 42`)
      expectWellFormed(events, id)
      const error = ofType(events, 'error')[0]?.error
      expect(error?.ename).toBe('DeadKernelError')
      expect(error?.evalue).toContain('not its frames')
      expect(existsSync(`/proc/${pid}`)).toBe(false)
      const after = await runCode(fx.d, '6 * 7', { id })
      expect(after[0]?.state_lost).toBe(true)
      expect(resultText(after)).toEqual(['42'])
      expect((await fx.d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).status).toBe(200)
    }, 60_000)
  }

  test('a cell that writes nothing on fd 3 keeps its interpreter, cell after cell', async () => {
    const id = await createContext(fx.d, 'javascript')
    await runCode(fx.d, 'globalThis.n = 0', { id })
    for (let i = 1; i <= 20; i++) {
      const events = await cell(fx.d, id, `process.stdout.write('x'.repeat(${i * 997})); ++n`)
      expect(ofType(events, 'error')).toEqual([])
      expect(resultText(events)).toEqual([String(i)])
    }
    expect((await fx.d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).status).toBe(200)
  }, 60_000)
})
