/** The official TypeScript SDK against the executable: health and metrics clients. */
import { SandboxApiException } from '@alibaba-group/opensandbox'
import { beforeAll, expect, test } from 'bun:test'
import { sdkFor, type ExecdStack } from './sdk'
import { daemonAlone } from './kit/daemon-dir'

let execd: ExecdStack
const fx = daemonAlone()
beforeAll(() => {
  execd = sdkFor(fx.d, 20)
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

test('a wrong token: a SandboxApiException with status 401 and the body CONTRACT.md fixes', async () => {
  // The 401 body is the reference's {"error": ...} (CONTRACT.md §1), not {code, message}: the
  // SDK's mapping finds no message there and shows its own words, with the body as rawBody.
  const wrong = sdkFor({ ...fx.d, token: 'not-the-token' }, 20)
  for (const [call, words] of [
    [() => wrong.health.ping(), 'Execd ping failed'],
    [() => wrong.metrics.getMetrics(), 'Get execd metrics failed'],
  ] as const) {
    const e = await call().catch((err: unknown) => err)
    expect(e).toBeInstanceOf(SandboxApiException)
    expect(e).toMatchObject({
      statusCode: 401,
      message: words,
      error: { code: 'UNEXPECTED_RESPONSE' },
      rawBody: { error: 'Unauthorized: invalid or missing header X-EXECD-ACCESS-TOKEN' },
    })
  }
})
