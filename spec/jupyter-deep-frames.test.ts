/**
 * A lying Jupyter server's frames nested millions deep (spec/kit/fake-jupyter.ts): execd parsed
 * each on its event loop before dropping it (0.2–0.25 s of one core for 8 MB, /ping held
 * up to ~0.5 s), and every request
 * waited. They are dropped unparsed now; the cell reading them costs its main thread little.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { okCell, startFakeJupyter, type FakeJupyter } from './kit/fake-jupyter'
import { postJson, readSse } from './harness'
import { daemonAlone } from './kit/daemon-dir'

/** 8 MB each: 4 million arrays in one another, or 1.6 million objects inside a message. */
const FRAMES = 24
const ARRAYS = `${'['.repeat(4_000_000)}${']'.repeat(4_000_000)}`
const OBJECTS = `{"header":{"msg_type":"stream"},"content":${'{"a":'.repeat(1_600_000)}1${'}'.repeat(1_600_000)}}`

/** CPU seconds the process's main thread has used (utime + stime, in clock ticks of 1/100 s). */
function mainThreadCpu(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'latin1')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

let fj: FakeJupyter

beforeAll(async () => {
  fj = startFakeJupyter({
    behaviours: {
      deep: (req, r) => {
        for (let i = 0; i < FRAMES; i++) r.raw(i % 2 ? OBJECTS : ARRAYS)
        okCell()(req, r)
      },
    },
  })
})
const fx = daemonAlone(() => ['--jupyter-host', fj.url, '--jupyter-token', fj.token])
afterAll(async () => {
  fj?.stop()
})

test('frames nested millions deep are dropped unparsed: the cell goes on, the loop is not held', async () => {
  const ctx = await postJson(fx.d, '/code/context', { language: 'deep' })
  expect(ctx.status).toBe(200)
  const { id } = (await ctx.json()) as { id: string }
  const cpu0 = mainThreadCpu(fx.d.proc.pid)
  const res = await postJson(fx.d, '/code', { code: 'x', context: { id } }, { signal: AbortSignal.timeout(120_000) })
  expect(res.status).toBe(200)
  const events = (await readSse(res)).map(f => f.data)
  // The cell's own frames came after the deep ones on the same socket: all were read by now.
  const cpu = mainThreadCpu(fx.d.proc.pid) - cpu0
  expect(events.filter(e => e.type === 'stdout').map(e => e.text)).toEqual(['ok\n'])
  expect(events.at(-1)?.type).toBe('execution_complete')
  // Main's build: 24 parses on the main thread, 4.9 s of CPU; reading 192 MB of frames, 0.2 s.
  console.log(`main thread CPU over the cell: ${cpu.toFixed(2)} s`)
  expect(cpu).toBeLessThan(2)
  expect(fx.d.proc.exitCode).toBeNull()
  expect((await fx.d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).status).toBe(200)
}, 180_000)
