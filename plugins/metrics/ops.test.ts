import { expect, test } from 'bun:test'
import { MetricsOps } from './ops'
import { Sampler } from './sampler'

test('watch on a cold sampler sends each sample once, every one newer than the one before', async () => {
  const ops = new MetricsOps(new Sampler('/', 100))
  const stamps: number[] = []
  try {
    for await (const m of ops.watch()) {
      stamps.push(m.timestamp)
      if (stamps.length === 3) break
    }
  } finally {
    ops.close()
  }
  expect(stamps).toHaveLength(3)
  for (let i = 1; i < stamps.length; i++) expect(stamps[i]).toBeGreaterThan(stamps[i - 1] ?? Infinity)
})
