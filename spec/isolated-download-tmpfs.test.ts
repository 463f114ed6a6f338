/**
 * An isolated session's downloads go through the files section over the session's view, and
 * take the same copies: where TMPDIR is a tmpfs the copies are memory and count against the
 * memory budget of bodies (64 MiB), as spec/files-download-tmpfs asserts for /files. Clients
 * that ask for a file larger than their sockets' buffers can absorb (24 MiB against a 4 MiB
 * send buffer and an unread receive buffer that does not grow) and never read hold their copies
 * for as long as they stay, whatever the machine's speed: the budget fills, later answers are
 * sent from the file itself (`Connection: close`), and it all comes back when they go.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdirSync, statfsSync, writeFileSync } from 'node:fs'
import type { Socket } from 'node:net'
import { join } from 'node:path'
import { postJson, startDaemon, waitFor, type Daemon } from './harness'
import { scratchWithDisks } from './kit/small-disk'
import { allAnswered } from './kit/tcp-queues'
import { getUnread } from './kit/narrow-reader'

const MiB = 1024 * 1024
const SIZE = 24 * MiB
const CLIENTS = 20
const runs = process.getuid?.() === 0 && !!Bun.which('bwrap')
const scratch = scratchWithDisks('isolated-download-tmpfs')
let d: Daemon
let tmp = ''
let file = ''
let session = ''
beforeAll(async () => {
  if (!runs) return
  tmp = scratch.smallDisk('1g')
  const workspace = join(scratch.dir, 'workspace')
  mkdirSync(workspace)
  file = join(workspace, 'big')
  writeFileSync(file, Buffer.alloc(SIZE, 'i'))
  d = await startDaemon({ env: { TMPDIR: tmp } })
  const created = await postJson(d, '/v1/isolated/session', { workspace: { path: workspace, mode: 'overlay' } })
  expect(created.status).toBe(201)
  session = (await created.json()).session_id as string
})
afterAll(async () => {
  if (session) await d.fetch(`/v1/isolated/session/${session}`, { method: 'DELETE' })
  await d?.stop()
})

const usedMiB = () => {
  const s = statfsSync(tmp)
  return ((s.blocks - s.bfree) * s.bsize) / MiB
}
const path = () => `/v1/isolated/session/${session}/files/download?path=${encodeURIComponent(file)}`

/** A client that asks for the file and never reads a byte of the answer. */
const stalled = () => getUnread(d, path())

/** A whole download through the session; whether it was a copy (a body sent from the file closes its connection). */
async function copied(): Promise<boolean> {
  const res = await d.fetch(path())
  const body = Buffer.from(await res.arrayBuffer())
  expect([res.status, body.length, body.every(b => b === 0x69)]).toEqual([200, SIZE, true])
  return res.headers.get('connection') !== 'close'
}

describe.skipIf(!runs)("an isolated session's download copies in a TMPDIR that is memory", () => {
  test('clients that never read hold at most the memory budget of copies, and give it back when they go', async () => {
    expect(await copied()).toBe(true)
    await waitFor('the first copy gone', () => usedMiB() < 1)
    const clients: Socket[] = []
    try {
      for (let i = 0; i < CLIENTS; i++) clients.push(await stalled())
      // Each client answered: two copies hold 48 MiB of the budget. A reader that came sooner,
      // its copy held while the others' answers were made, left one copy and room for its next.
      await waitFor('every client answered', () => allAnswered(clients))
      // The budget full: a reader now gets the whole file, from the file itself.
      expect(await copied()).toBe(false)
      // Without the budget: 24 MiB of the tmpfs per client (480 MiB); with it, two copies.
      expect(usedMiB()).toBeGreaterThanOrEqual(48)
      expect(usedMiB()).toBeLessThanOrEqual(64)
    } finally {
      for (const c of clients) c.destroy()
    }
    await waitFor('the copies gone with their clients', () => usedMiB() < 1)
    await waitFor('a download copied again', copied)
  }, 120_000)
})
