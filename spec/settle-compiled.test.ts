/**
 * Once its start has settled, serve gives back what only starting needed (cmd/serve.ts): a full
 * collection and `Bun.shrink()`, which throws away every function's compiled code. A daemon put
 * to work from its first `/ping` on (an SDK runs its first command as soon as the sandbox
 * answers) had compiled its request path by then, and compiled it all again after. JSC reports
 * each compile (`BUN_JSC_reportCompileTimes`): a function compiled twice by the baseline JIT is
 * one whose code was thrown away. The daemon is kept busy past the settle (1 s after its routes
 * are built); nothing is timed.
 */
import { describe, expect, test } from 'bun:test'
import { postJson, readSse, startDaemon, type Daemon } from './harness'

/** `Optimized <name>#<hash>:[…, LLIntFunctionCall, …] using Baseline …`: one baseline compile. */
const BASELINE = /^Optimized (.*?#\w+):\[[^\]]*?, LLInt(\w+),.*? using Baseline /

/** How many functions the baseline JIT compiled more than once so far. */
function compiledAgain(d: Daemon): number {
  const seen = new Map<string, number>()
  for (const line of d.logs().split('\n')) {
    const m = BASELINE.exec(line)
    if (m) seen.set(`${m[1]} ${m[2]}`, (seen.get(`${m[1]} ${m[2]}`) ?? 0) + 1)
  }
  return [...seen.values()].filter(n => n > 1).length
}

async function command(d: Daemon): Promise<void> {
  const res = await postJson(d, '/command', { command: 'true' })
  expect(res.status).toBe(200)
  const frames = await readSse(res, f => f.data.type === 'execution_complete' || f.data.type === 'error')
  expect(frames.at(-1)?.data.type).toBe('execution_complete')
}

/** Runs `work` again and again until `ms` have passed since the call. */
async function busyFor(ms: number, work: () => Promise<void>): Promise<number> {
  const end = Date.now() + ms
  let n = 0
  while (Date.now() < end) {
    await work()
    n++
  }
  return n
}

describe('the settle after the start', () => {
  test('a daemon at work from its first /ping keeps what it compiled for that work', async () => {
    const d = await startDaemon({ env: { BUN_JSC_reportCompileTimes: '1' } })
    try {
      // Past the settle, which comes 1 s after the routes are built (well within 4 s here).
      const n = await busyFor(4000, () => command(d))
      expect(n).toBeGreaterThan(20)
      // Before: ~100 functions of the command path compiled again after the shrink; a few may
      // be compiled again as JSC ages out code it has not run lately.
      expect(compiledAgain(d)).toBeLessThan(10)
    } finally {
      await d.stop()
    }
  }, 30_000)

  test('a daemon only asked /ping still gives back what starting compiled', async () => {
    const d = await startDaemon({ env: { BUN_JSC_reportCompileTimes: '1' } })
    try {
      // Enough pings for the baseline JIT to compile their path, before the settle and after it.
      await busyFor(4000, () => d.fetch('/ping').then(r => void r.arrayBuffer()))
      expect(compiledAgain(d)).toBeGreaterThan(0)
    } finally {
      await d.stop()
    }
  }, 30_000)
})
