/**
 * An interrupt of a session run whose client stopped reading: the run's output is read from bash
 * only as the client takes it, and the run's end marker comes behind that output. The interrupt
 * must land anyway and keep the shell — a client that reads nothing must not turn it into the
 * grace's kill of the whole session (`/session` and the isolated sessions share the run).
 */
import { describe, expect, test } from 'bun:test'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { postJson, readSse, type Daemon } from './harness'
import { daemonWithDir } from './kit/daemon-dir'
import { postUnread } from './kit/narrow-reader'

const bwrap = Bun.which('bwrap')

let ws: string
const fx = daemonWithDir('session-unread', tmp => {
  ws = join(tmp, 'ws')
  mkdirSync(ws)
  return []
})

const FLOOD = 'while :; do echo "$x yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"; done'

const cases = [
  {
    kind: 'session',
    skip: false,
    async create(d: Daemon) {
      const res = await postJson(d, '/session', {})
      expect(res.status).toBe(200)
      return (await res.json()).session_id as string
    },
    path: (id: string) => `/session/${id}/run`,
    body: (code: string, timeoutSeconds?: number) => ({
      command: code,
      ...(timeoutSeconds ? { timeout: timeoutSeconds * 1000 } : {}),
    }),
  },
  {
    kind: 'isolated session',
    skip: !bwrap,
    async create(d: Daemon) {
      const res = await postJson(d, '/v1/isolated/session', { workspace: { path: ws } })
      expect(res.status).toBe(201)
      return (await res.json()).session_id as string
    },
    path: (id: string) => `/v1/isolated/session/${id}/run`,
    body: (code: string, timeoutSeconds?: number) => ({
      code,
      ...(timeoutSeconds ? { timeout_seconds: timeoutSeconds } : {}),
    }),
  },
]

describe('an interrupt of a flooding session run whose client reads nothing', () => {
  for (const c of cases) {
    test.skipIf(c.skip)(
      `${c.kind}: lands, and the session keeps its state`,
      async () => {
        const d = fx.d
        const id = await c.create(d)
        const set = await readSse(await postJson(d, c.path(id), c.body('x=41')))
        expect(set.at(-1)?.data.type).toBe('execution_complete')
        const silent = await postUnread(d, c.path(id), c.body(FLOOD))
        try {
          // Long enough for the flood to fill the socket and the pipe on a loaded machine;
          // shorter only makes the test pass without showing anything.
          await Bun.sleep(3000)
          const stop = await d.fetch(`/command?id=${id}`, { method: 'DELETE' })
          expect(stop.status).toBe(200)
          // Killed by the grace instead, the next run answered 404 "session … has ended".
          await expectStateKept(d, c, id)
        } finally {
          await silent.close()
        }
      },
      60_000,
    )
  }

  for (const c of cases) {
    test.skipIf(c.skip)(
      `${c.kind}: the run's timeout lands too, and the session keeps its state`,
      async () => {
        const d = fx.d
        const id = await c.create(d)
        await readSse(await postJson(d, c.path(id), c.body('x=41')))
        // The timeout leaves the flood time to fill the socket and the pipe.
        const silent = await postUnread(d, c.path(id), c.body(FLOOD, 3))
        try {
          // Queued behind the flood; before, the grace killed the shell and its error said so.
          await expectStateKept(d, c, id)
        } finally {
          await silent.close()
        }
      },
      60_000,
    )
  }
})

/** The session's next run answers from the state set before the flood: `x` is still 41. */
async function expectStateKept(d: Daemon, c: (typeof cases)[number], id: string): Promise<void> {
  const next = await postJson(d, c.path(id), c.body('echo $((x + 1))'))
  expect(next.status).toBe(200)
  const after = await readSse(next)
  expect(after.filter(f => f.data.type === 'stdout').map(f => f.data.text)).toEqual(['42'])
  expect(after.at(-1)?.data.type).toBe('execution_complete')
}
