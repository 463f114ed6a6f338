/**
 * Each opened section owns its pools (core/held-slots.ts): two apps in one process, or a CLI
 * verb's section beside a server's, each report their own. A process-wide list by name had the
 * later opening of a section replace the earlier one's pools: the server's `sessions` then read
 * as the CLI's, empty, while the server's sessions held every slot.
 */
import { afterAll, expect, test } from 'bun:test'
import { createApp, openSection } from '../core/app'
import { resolveConfig, SERVER_OPTIONS } from '../core/config'
import type { Held } from '../core/held-slots'
import { createLogger } from '../core/log'
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
  // The app's streams come first, then each section's pools in list order, once each.
  expect(a.sections.held().map(p => p.what)).toEqual(['concurrent streams', 'terminals', 'sessions', 'session runs'])
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
