import { afterEach, expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startLoopLagProbe } from './loop-lag'

let dir = ''
afterEach(() => rmSync(dir, { recursive: true, force: true }))

test('a turn held past 50 ms is one line: its lag split by the thread clock, and the requests before it', async () => {
  dir = mkdtempSync(join(tmpdir(), 'loop-lag-'))
  const path = join(dir, 'lag.jsonl')
  const probe = startLoopLagProbe(path)
  try {
    await Bun.sleep(30)
    probe.request(new Request('http://127.0.0.1:1/files/info?path=%2Ftmp'))
    // Held on the CPU, as a long synchronous request would.
    const until = performance.now() + 200
    while (performance.now() < until) {}
    await Bun.sleep(40)
  } finally {
    probe.stop()
  }
  const lines = readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map(l => JSON.parse(l))
  const held = lines.find(l => l.lagMs >= 150)
  expect(held).toBeDefined()
  expect(held.runMs).toBeGreaterThan(0)
  expect(held.recent.at(-1)).toMatch(/ GET \/files\/info\?path=%2Ftmp$/)
})
