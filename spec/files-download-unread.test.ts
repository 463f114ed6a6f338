/**
 * A download past --download-copy-max is read through buffers of execd's own (core/socket-body.ts)
 * where sendfile held none: clients that ask for a large file and never read must not hold a
 * buffer each. The buffers are a pool of 8 MiB, and a body whose send queue is full gives its
 * own back until there is room again.
 */
import { expect, test } from 'bun:test'
import { writeFileSync } from 'node:fs'
import type { Socket } from 'node:net'
import { join } from 'node:path'
import { waitFor, rssMiB } from './harness'
import { daemonWithDir } from './kit/daemon-dir'
import { connections } from './kit/tcp-queues'
import { getUnread } from './kit/narrow-reader'

const MiB = 1024 * 1024
const CLIENTS = 80
const fx = daemonWithDir('download-unread', () => ['--download-copy-max', '0'])

/** A client that asks for `path` and never reads a byte of the answer. */
const stalled = (path: string) => getUnread(fx.d, `/files/download?path=${encodeURIComponent(path)}`)

/** Bytes of each client's answer in the kernel: its receive queue and execd's send queue. */
function queued(clients: Socket[]): number[] {
  const byEnds = new Map<string, number>()
  for (const c of connections())
    byEnds.set(`${c.local} ${c.remote}`, (byEnds.get(`${c.local} ${c.remote}`) ?? 0) + c.rx + c.tx)
  return clients.map(
    s => (byEnds.get(`${s.localPort} ${s.remotePort}`) ?? 0) + (byEnds.get(`${s.remotePort} ${s.localPort}`) ?? 0),
  )
}

test(`${CLIENTS} clients never reading a download past the copy max hold no buffer each`, async () => {
  const file = join(fx.tmp, 'big')
  writeFileSync(file, Buffer.alloc(64 * MiB, 'b'))
  // One read whole first: what serving such a download costs once (the pool's buffers made).
  const res = await fx.d.fetch(`/files/download?path=${encodeURIComponent(file)}`)
  expect((await res.arrayBuffer()).byteLength).toBe(64 * MiB)
  const before = rssMiB(fx.d.proc.pid)
  const clients: Socket[] = []
  try {
    for (let i = 0; i < CLIENTS; i++) clients.push(await stalled(file))
    // Each answer stuck: the kernel holds what it takes of it, and no more comes.
    let last: number[] = []
    await waitFor('every answer stuck in the kernel', () => {
      const now = queued(clients)
      const stuck = now.every((n, i) => n > 64 * 1024 && n === last[i])
      last = now
      return stuck
    })
    const grown = rssMiB(fx.d.proc.pid) - before
    // A pair of 1 MiB buffers a client would be +160 MiB; the pool is 8 MiB (+10 measured, the
    // build before: +3).
    expect(grown).toBeLessThan(64)
  } finally {
    for (const c of clients) c.destroy()
  }
  // Gone, they hold nothing: a reader gets the whole file again.
  const again = await fx.d.fetch(`/files/download?path=${encodeURIComponent(file)}`)
  const body = Buffer.from(await again.arrayBuffer())
  expect(body.length).toBe(64 * MiB)
  expect(body.every(b => b === 0x62)).toBe(true)
}, 120_000)
