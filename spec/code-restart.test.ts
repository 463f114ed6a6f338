/**
 * What comes while a context replaces its dead interpreter (the cell after a death waits for the
 * fresh one). An interrupt stops that cell: it answered 200 at once and the cell then ran to its
 * end (found by the fuzz's java contexts: `Thread.sleep(60_000)` after a `System.exit`,
 * interrupted 50 ms in, ran the whole minute). A DELETE closes the fresh interpreter (the third
 * attacker's pass): it answered 200 and the fresh one lived on, out of every cap.
 */
import { describe, expect, test } from 'bun:test'
import { mkdtempSync, readdirSync, readlinkSync } from 'node:fs'
import { join } from 'node:path'
import { postJson, readSse } from './harness'
import { daemonAlone, daemonWithDir } from './kit/daemon-dir'
import { pythonAvailable } from './python-env'

// No spare interpreter: a replacement is started when the cell asks for it, so the
// interrupt below comes while it starts.
const fx = daemonAlone(() => ['--python-spare', '0'])

const ROUNDS = 3

test('an interrupt during the restart after a death stops the cell waiting for the fresh interpreter', async () => {
  const made = await postJson(fx.d, '/code/context', { language: 'python' })
  const { id } = (await made.json()) as { id: string }
  const context = { id, language: 'python' }
  const seen: unknown[] = []
  for (let round = 0; round < ROUNDS; round++) {
    await readSse(await postJson(fx.d, '/code', { code: 'import os; os._exit(1)', context }))
    const res = await postJson(fx.d, '/code', { code: 'import time; time.sleep(3); print("ran")', context })
    const execution = res.headers.get('execd-execution-id')
    const stop = await fx.d.fetch(`/code?id=${execution}`, { method: 'DELETE' })
    const frames = (await readSse(res)).map(f => f.data)
    seen.push({
      round,
      interrupt: stop.status,
      ran: frames.some(f => f.type === 'stdout' && f.text.includes('ran')),
      error: frames.find(f => f.type === 'error')?.error?.ename,
      last: frames.at(-1)?.type,
    })
  }
  expect(seen).toEqual(
    Array.from({ length: ROUNDS }, (_, round) => ({
      round,
      interrupt: 200,
      ran: false,
      error: 'KeyboardInterrupt',
      last: 'execution_complete',
    })),
  )
  // The context lives on: the next cell runs in the fresh interpreter.
  const next = (await readSse(await postJson(fx.d, '/code', { code: 'print(6 * 7)', context }))).map(f => f.data)
  expect(next.filter(f => f.type === 'stdout').map(f => f.text)).toEqual(['42\n'])
}, 60_000)

/** Live pids whose working directory is `dir` (a context's interpreter, found by its cwd). */
const pidsIn = (dir: string): number[] =>
  readdirSync('/proc')
    .filter(p => /^\d+$/.test(p))
    .filter(p => {
      try {
        return readlinkSync(`/proc/${p}/cwd`) === dir
      } catch {
        return false
      }
    })
    .map(Number)

describe.skipIf(pythonAvailable !== true)('a context deleted while its dead interpreter is being replaced', () => {
  // A daemon of its own (this `fx`, not the file's): a spare interpreter as by default, and a dir
  // for each context's cwd.
  const fx = daemonWithDir('code-delete-restart')

  // After a `kill -9` of the interpreter, the next cell starts a fresh one. A DELETE that came
  // while it started found no interpreter to close and answered 200; the fresh one then ran the
  // cell and lived on, out of every cap (its slot was given back): one python per DELETE.
  test('the fresh interpreter is closed, the cell ends with an error, DELETE answers once it is gone', async () => {
    const dir = mkdtempSync(join(fx.tmp, 'ctx-'))
    const created = await postJson(fx.d, '/code/context', { language: 'python', cwd: dir })
    expect(created.status).toBe(200)
    const id = (await created.json()).id as string
    expect(pidsIn(dir).length).toBe(1)
    // The interpreter kills itself: once this cell has ended, the context knows it is dead.
    const died = await readSse(
      await postJson(fx.d, '/code', {
        code: 'import os; os.kill(os.getpid(), 9)',
        context: { id, language: 'python' },
      }),
    )
    expect(died.map(f => f.data.type)).toContain('error')
    const res = await postJson(fx.d, '/code', { code: 'print("ran")', context: { id, language: 'python' } })
    expect(res.status).toBe(200)
    // `init` is journaled before the turn starts the fresh interpreter: DELETE now lands while it starts.
    let deleting: Promise<Response> | undefined
    const frames = await readSse(res, f => {
      if (f.data.type === 'init') deleting = fx.d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })
      return false
    })
    expect((await deleting!).status).toBe(200)
    const types = frames.map(f => f.data.type)
    expect(types.at(-1)).toBe('execution_complete')
    expect(types).toContain('error')
    expect(frames.filter(f => f.data.type === 'stdout')).toEqual([])
    expect((await fx.d.fetch(`/code/contexts/${id}`)).status).toBe(404)
    expect(pidsIn(dir)).toEqual([])
  }, 30_000)
})
