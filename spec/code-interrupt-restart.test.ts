/**
 * An interrupt that comes while a context replaces its dead interpreter (the cell after a
 * death waits for the fresh one) stops that cell: it answered 200 at once and the cell then ran
 * to its end (found by the fuzz's java contexts: `Thread.sleep(60_000)` after a
 * `System.exit`, interrupted 50 ms in, ran the whole minute).
 */
import { expect, test } from 'bun:test'
import { postJson, readSse } from './harness'
import { daemonAlone } from './kit/daemon-dir'

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
