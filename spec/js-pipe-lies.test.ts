/**
 * A javascript cell that writes on its driver's pipe (fd 3) a frame head announcing more bytes
 * than follow: the pipe took the driver's `done`, and everything after it, as that frame's bytes,
 * and the cell ran for good (an interrupt's `done` was taken too; the context wedged until
 * deleted). The driver says on its other channel how far the pipe went with the `done` in it;
 * read that far without the `done`, the interpreter is stopped and the cell ends.
 */
import { describe, expect, test } from 'bun:test'
import { daemonAlone } from './kit/daemon-dir'
import { createContext, ofType, resultText, runCode } from './runtime-kit'
import { cellWithin, expectInterpreterReplaced } from './kit/interpreter-replaced'

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
      const events = await cellWithin(
        fx.d,
        id,
        `require('node:fs').writeSync(3, Buffer.from(${JSON.stringify(head)})); 42`,
      )
      await expectInterpreterReplaced(fx.d, id, pid, events, 'not its frames')
      expect((await fx.d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).status).toBe(200)
    }, 60_000)
  }

  test('a cell that writes nothing on fd 3 keeps its interpreter, cell after cell', async () => {
    const id = await createContext(fx.d, 'javascript')
    await runCode(fx.d, 'globalThis.n = 0', { id })
    for (let i = 1; i <= 20; i++) {
      const events = await cellWithin(fx.d, id, `process.stdout.write('x'.repeat(${i * 997})); ++n`)
      expect(ofType(events, 'error')).toEqual([])
      expect(resultText(events)).toEqual([String(i)])
    }
    expect((await fx.d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).status).toBe(200)
  }, 60_000)
})
