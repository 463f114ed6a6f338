/**
 * A download between 4 MiB and --download-copy-max is copied into TMPDIR before it is sent (so
 * that a file truncated meanwhile cannot send zeros), and the copy lives until its client has
 * read it. Where TMPDIR is a tmpfs (a tmpfs /tmp, a Memory emptyDir) a copy is memory: clients
 * asking for a 16 MiB file and never reading held 16 MiB of RAM each (30 of them: 480 MiB),
 * under the 2 GiB disk budget. There the copies count against the memory budget (64 MiB).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { statfsSync, writeFileSync } from 'node:fs'
import type { Socket } from 'node:net'
import { join } from 'node:path'
import { startDaemon, waitFor, type Daemon } from './harness'
import { scratchWithDisks } from './kit/small-disk'
import { allAnswered } from './kit/tcp-queues'
import { getUnread } from './kit/narrow-reader'

const MiB = 1024 * 1024
const SIZE = 16 * MiB
const root = process.getuid?.() === 0
const scratch = scratchWithDisks('download-tmpfs')
let d: Daemon
let tmp = ''
let file = ''
beforeAll(async () => {
  if (!root) return
  tmp = scratch.smallDisk('1g')
  file = join(scratch.dir, 'sixteen')
  writeFileSync(file, Buffer.alloc(SIZE, 's'))
  d = await startDaemon({ env: { TMPDIR: tmp } })
})
afterAll(async () => {
  await d?.stop()
})

const usedMiB = () => {
  const s = statfsSync(tmp)
  return ((s.blocks - s.bfree) * s.bsize) / MiB
}

/** A client that asks for the file and never reads a byte of the answer. */
const stalled = () => getUnread(d, `/files/download?path=${encodeURIComponent(file)}`)

describe('download copies in a TMPDIR that is memory', () => {
  test.skipIf(!root)(
    '30 clients of a 16 MiB file that never read hold at most the memory budget of copies',
    async () => {
      const before = usedMiB()
      const clients: Socket[] = []
      try {
        for (let i = 0; i < 30; i++) clients.push(await stalled())
        // A reader meanwhile gets the whole file, copied or not.
        const res = await d.fetch(`/files/download?path=${encodeURIComponent(file)}`)
        const body = Buffer.from(await res.arrayBuffer())
        expect([res.status, body.length, body.every(b => b === 0x73)]).toEqual([200, SIZE, true])
        await waitFor('every client answered', () => allAnswered(clients))
        // Before: 16 MiB of the tmpfs per client (480 MiB). Now: the 64 MiB budget at most.
        expect(usedMiB() - before).toBeLessThan(100)
      } finally {
        for (const c of clients) c.destroy()
      }
      await waitFor('the copies gone with their clients', () => usedMiB() - before < 1)
    },
    120_000,
  )
})
