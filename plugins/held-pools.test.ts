/**
 * Each opened section owns its pools (core/held-slots.ts): two apps in one process, or a CLI
 * verb's section beside a server's, each report their own. A process-wide list by name had the
 * later opening of a section replace the earlier one's pools: the server's `sessions` then read
 * as the CLI's, empty, while the server's sessions held every slot. The streams are the app's
 * (core/streams.ts): a process-wide cap was the last opened app's, and one app's full pool
 * refused the other's streams.
 */
import { afterAll, expect, test } from 'bun:test'
import { createApp, openSection } from '../core/app'
import { resolveConfig, SERVER_OPTIONS } from '../core/config'
import type { Held } from '../core/held-slots'
import { createLogger } from '../core/log'
import { metrics } from './metrics'
import { pty } from './pty'
import { session } from './session'

const config = resolveConfig(SERVER_OPTIONS, {}, {})
const log = createLogger('silent')
const open = () => createApp({ plugins: [pty, session], runtimes: [], config, log })
const apps: Awaited<ReturnType<typeof open>>[] = []
afterAll(async () => {
  await Promise.all(apps.map(a => a.close()))
})

const pool = (pools: Held[], what: string) => pools.find(p => p.what === what)

test('two apps in one process each report their own pools, with what their sections hold', async () => {
  const a = await open()
  const b = await open()
  apps.push(a, b)
  a.sections.get(session).ops.create({})
  a.sections.get(pty).ops.create({})
  a.sections.get(pty).ops.create({})
  b.sections.get(pty).ops.create({})

  expect(pool(a.sections.held(), 'sessions')).toMatchObject({ held: 1, live: 1 })
  expect(pool(b.sections.held(), 'sessions')).toMatchObject({ held: 0, live: 0 })
  expect(pool(a.sections.held(), 'terminals')).toMatchObject({ held: 2, live: 2 })
  expect(pool(b.sections.held(), 'terminals')).toMatchObject({ held: 1, live: 1 })
  // The app's streams and downloads come first, then each section's pools in list order, once each.
  expect(a.sections.held().map(p => p.what)).toEqual([
    'concurrent streams',
    'downloads still sending',
    'terminals',
    'sessions',
    'session runs',
  ])
}, 30_000)

test("a section a CLI verb opens beside a server leaves the server's pools as they are", async () => {
  const server = await open()
  apps.push(server)
  server.sections.get(session).ops.create({})
  const cli = await openSection(session, config)
  try {
    expect(pool(server.sections.held(), 'sessions')).toMatchObject({ held: 1, live: 1 })
    expect(cli.ops.held()[0]).toMatchObject({ what: 'sessions', held: 0 })
  } finally {
    await cli.close()
  }
  expect(pool(server.sections.held(), 'sessions')).toMatchObject({ held: 1, live: 1 })
}, 30_000)

/** An app of the metrics section whose streams are capped at `maxStreams`. */
const withStreams = (maxStreams: number) =>
  createApp({ plugins: [metrics], runtimes: [], config: resolveConfig(SERVER_OPTIONS, { maxStreams }, {}), log })
const watch = (app: Awaited<ReturnType<typeof withStreams>>) =>
  app.app.handle(new Request('http://localhost/metrics/watch'))

test("two apps in one process each cap their own streams: one full does not refuse the other's", async () => {
  const a = await withStreams(1)
  const b = await withStreams(2)
  apps.push(a, b)
  const open: Response[] = []
  try {
    open.push(await watch(a))
    expect(open[0]!.status).toBe(200)
    const refused = await watch(a)
    expect(refused.status).toBe(503)
    expect(await refused.json()).toEqual({
      code: 'SERVICE_UNAVAILABLE',
      message: 'limit reached: at most 1 concurrent streams (--max-streams); close one or raise the limit',
    })
    for (let i = 0; i < 2; i++) open.push(await watch(b))
    expect(open.map(r => r.status)).toEqual([200, 200, 200])
    expect((await watch(b)).status).toBe(503)
    expect(pool(a.sections.held(), 'concurrent streams')).toMatchObject({ max: 1, held: 1 })
    expect(pool(b.sections.held(), 'concurrent streams')).toMatchObject({
      max: 2,
      held: 2,
      byKind: { 'GET /metrics/watch': 2 },
    })
  } finally {
    await Promise.all(open.map(r => r.body?.cancel()))
  }
  // Given back: each pool empties on its own.
  expect(pool(a.sections.held(), 'concurrent streams')!.held).toBe(0)
  expect(pool(b.sections.held(), 'concurrent streams')!.held).toBe(0)
}, 30_000)

test("one app's shutdown ends its own streams with an error event, and leaves the other app's open", async () => {
  const a = await withStreams(0)
  const b = await withStreams(0)
  apps.push(a, b)
  const [fromA, fromB] = [await watch(a), await watch(b)]
  a.ctx.streams.closeAll()
  const text = await fromA.text()
  expect(text).toContain('"ename":"ServerShutdown"')
  expect(a.ctx.streams.openCount).toBe(0)
  expect(b.ctx.streams.openCount).toBe(1)
  await fromB.body?.cancel()
  expect(b.ctx.streams.openCount).toBe(0)
}, 30_000)
