/**
 * A download up to 4 MiB is read into memory and given to Bun whole, and Bun holds it until its
 * client has read it: clients that ask for a 4 MiB file and never read held 4 MiB of execd each
 * until they closed (50: +200 MiB; 200: +803 MiB; ~8 GiB at --max-requests 2048). The small
 * bodies being sent now share a budget (64 MiB); past it a download streams from its descriptor
 * (sendfile), and the budget comes back when an answer is sent or abandoned.
 */
import { describe, expect, test } from 'bun:test'
import { writeFileSync } from 'node:fs'
import type { Socket } from 'node:net'
import { join } from 'node:path'
import { postJson, waitFor, rssMiB } from './harness'
import { daemonWithDirAtLoad } from './kit/daemon-dir'
import { allAnswered } from './kit/tcp-queues'
import { getUnread } from './kit/narrow-reader'

const MiB = 1024 * 1024
const fx = daemonWithDirAtLoad('download-memory', () => {
  writeFileSync(big, Buffer.alloc(4 * MiB, 'f'))
  writeFileSync(small, Buffer.alloc(MiB, 'o'))
  return []
})
const dir = fx.tmp
const big = join(dir, 'four')
const small = join(dir, 'one')

const download = (path: string) => fx.d.fetch(`/files/download?path=${encodeURIComponent(path)}`)

/** A client that asks for `path` and never reads a byte of the answer. */
const stalled = (path: string) => getUnread(fx.d, `/files/download?path=${encodeURIComponent(path)}`)

/** Whether a small download is answered from memory (on the large-body path it closes the connection). */
async function fromMemory(): Promise<boolean> {
  const res = await download(small)
  expect((await res.arrayBuffer()).byteLength).toBe(MiB)
  return res.headers.get('connection') !== 'close'
}

describe('small download bodies held in memory', () => {
  test('100 clients asking for a 4 MiB file and never reading hold at most the budget, not 4 MiB each', async () => {
    expect(await fromMemory()).toBe(true)
    const before = rssMiB(fx.d.proc.pid)
    const clients: Socket[] = []
    try {
      for (let i = 0; i < 100; i++) clients.push(await stalled(big))
      // A reader meanwhile gets the whole file (from its descriptor, past the budget); by then
      // the requests before it have been answered.
      const res = await download(big)
      const body = Buffer.from(await res.arrayBuffer())
      expect(res.status).toBe(200)
      expect(body.length).toBe(4 * MiB)
      expect(body.every(b => b === 0x66)).toBe(true)
      await waitFor('every client answered', () => allAnswered(clients))
      const grown = rssMiB(fx.d.proc.pid) - before
      // Before: +400 MiB (4 MiB each, less what the sockets' kernel buffers took). Now: the
      // 64 MiB budget and what serving 100 requests costs anyway.
      expect(grown).toBeLessThan(200)
    } finally {
      for (const c of clients) c.destroy()
    }
    // Their going away gives the budget back.
    await waitFor('a small download from memory again', fromMemory)
  }, 120_000)

  test('answers read to the end give the budget back', async () => {
    // 160 MiB of small bodies, more than the budget, one after another.
    for (let i = 0; i < 40; i++) {
      const res = await download(big)
      expect((await res.arrayBuffer()).byteLength).toBe(4 * MiB)
    }
    await waitFor('a small download from memory again', fromMemory)
  }, 120_000)

  test.skipIf(!Bun.which('bwrap'))("an isolated session's small download is watched as well: from memory", async () => {
    const created = await postJson(fx.d, '/v1/isolated/session', { workspace: { path: dir } })
    expect(created.status).toBe(201)
    const id = (await created.json()).session_id as string
    try {
      const res = await fx.d.fetch(`/v1/isolated/session/${id}/files/download?path=${encodeURIComponent(small)}`)
      expect((await res.arrayBuffer()).byteLength).toBe(MiB)
      expect(res.headers.get('connection')).not.toBe('close')
    } finally {
      await fx.d.fetch(`/v1/isolated/session/${id}`, { method: 'DELETE' })
    }
  })
})
