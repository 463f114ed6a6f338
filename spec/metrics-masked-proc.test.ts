/**
 * GET /metrics and /metrics/watch from a daemon whose /proc says nothing (a file masked by
 * /dev/null in a mount namespace of its own, as some sandboxes mask /proc): a clear error, never
 * a 200 saying the machine has 0 MiB of memory or 0 % CPU.
 */
import { describe, expect, test } from 'bun:test'
import { startDaemon } from './harness'

const canMask = Bun.spawnSync([
  'unshare',
  '-m',
  '--propagation',
  'private',
  'mount',
  '--bind',
  '/dev/null',
  '/proc/meminfo',
]).success

describe.skipIf(!canMask)('a masked /proc', () => {
  for (const [file, says] of [
    ['/proc/meminfo', 'gives no MemTotal'],
    ['/proc/stat', 'has no cpu line'],
  ] as const) {
    test(`${file} empty: 500 RUNTIME_ERROR naming it, from /metrics and /metrics/watch`, async () => {
      const mask = `mount --bind /dev/null ${file} && exec "$@"`
      const d = await startDaemon({ under: ['unshare', '-m', '--propagation', 'private', 'sh', '-c', mask, 'sh'] })
      try {
        for (const path of ['/metrics', '/metrics/watch']) {
          const res = await d.fetch(path, { signal: AbortSignal.timeout(20_000) })
          expect(res.status).toBe(500)
          const body = (await res.json()) as { code: string; message: string }
          expect(body.code).toBe('RUNTIME_ERROR')
          expect(body.message).toBe(`error reading runtime metrics. ${file} ${says}`)
        }
      } finally {
        await d.stop()
      }
    }, 60_000)
  }
})
