/**
 * The fixture the raw-target spec files share (spec/route-raw-target, spec/host-refused): a temp
 * dir, an upstream that notes the path of each request it gets and answers `app`, and a daemon
 * of their own per file, with its port for raw requests.
 */
import { afterAll, beforeAll } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startDaemon, type Daemon } from '../harness'
import { portOf } from '../raw-http'

export interface RawTargetFixture {
  /** Set before the file's first test, as the rest but `asked`. */
  d: Daemon
  port: number
  dir: string
  upstream: ReturnType<typeof Bun.serve>
  /** The paths the upstream was asked, in order. */
  readonly asked: string[]
}

/** Registers the file's setup. */
export function rawTargetFixture(name: string): RawTargetFixture {
  const fx = { asked: [] as string[] } as RawTargetFixture
  beforeAll(async () => {
    fx.dir = mkdtempSync(join(tmpdir(), `${name}-`))
    fx.upstream = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch: req => (fx.asked.push(new URL(req.url).pathname), new Response('app')),
    })
    fx.d = await startDaemon()
    fx.port = portOf(fx.d.url)
  })
  afterAll(async () => {
    await fx.d?.stop()
    fx.upstream?.stop(true)
    if (fx.dir) rmSync(fx.dir, { recursive: true, force: true })
  })
  return fx
}
