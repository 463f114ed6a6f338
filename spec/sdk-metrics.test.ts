/** The official TypeScript SDK against the executable: health and metrics clients. */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startDaemon, type Daemon } from './harness'
import { sdkFor, type ExecdStack } from './sdk'

let d: Daemon
let execd: ExecdStack
beforeAll(async () => {
  d = await startDaemon()
  execd = sdkFor(d, 20)
})
afterAll(async () => {
  await d.stop()
})

test('the SDK health client sees the daemon as healthy', async () => {
  expect(await execd.health.ping()).toBe(true)
})

test('the SDK metrics client reads every field', async () => {
  const m = await execd.metrics.getMetrics()
  expect(m.cpuCount).toBeGreaterThan(0)
  expect(m.memoryTotalMiB).toBeGreaterThan(m.memoryUsedMiB)
  expect(m.memoryUsedMiB).toBeGreaterThan(0)
  expect(m.cpuUsedPercentage).toBeGreaterThanOrEqual(0)
  expect(m.timestamp).toBeGreaterThan(1_700_000_000_000)
})
