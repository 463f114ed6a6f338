/**
 * core/answering.ts with the files section's downloads: an answer is watched through the server
 * its app is served by (serve sets it on the app it made), not through one server the process
 * keeps. Two apps in one process each budget their own answers, and an app answering in process
 * holds nothing it cannot watch. Each app names its own downloads still being sent (SIGUSR2's
 * list). Fake servers say when an answer is in flight (as Bun's requestIP does), so nothing is
 * timed.
 */
import { afterAll, expect, test } from 'bun:test'
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createApp } from '../../core/app'
import { resolveConfig, SERVER_OPTIONS } from '../../core/config'
import { smallBodyBytesHeld } from '../../core/file-body'
import { createLogger } from '../../core/log'
import { files } from '.'

const dir = realpathSync(mkdtempSync(join(tmpdir(), 'execd-answering-')))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const SIZE = 1 << 20

/** A server as a route sees it: its answers are in flight until `sent`. */
function fakeServer() {
  const server = {
    sent: false,
    requestIP: () => (server.sent ? null : { address: '127.0.0.1', family: 'IPv4', port: 1 }),
  }
  return server
}

const built = () =>
  createApp({
    plugins: [files],
    runtimes: [],
    config: resolveConfig([...SERVER_OPTIONS, ...(files.options ?? [])], {}, {}),
    log: createLogger('silent'),
  })

function file(name: string): string {
  const path = join(dir, name)
  writeFileSync(path, Buffer.alloc(SIZE, 'x'))
  return path
}

// As Bun.serve hands requests over: with the Host header clients send.
const download = (path: string) =>
  new Request(`http://localhost/files/download?path=${encodeURIComponent(path)}`, { headers: { host: 'localhost' } })

/** Two apps, each served by a server of its own. */
async function twoServed() {
  const [a, b] = [await built(), await built()]
  const [serverA, serverB] = [fakeServer(), fakeServer()]
  a.app.server = serverA
  b.app.server = serverB
  return { a, b, serverA, serverB }
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await Bun.sleep(20)
}

test("two served apps' downloads are each held against the budget until their own server has sent them", async () => {
  const path = file('one-mib')
  const { a, b, serverA, serverB } = await twoServed()
  try {
    const fromA = await a.fetch(download(path))
    const fromB = await b.fetch(download(path))
    expect([fromA.status, fromB.status]).toEqual([200, 200])
    // In memory and counted (the descriptor's path would say Connection: close).
    expect([fromA.headers.get('connection'), fromB.headers.get('connection')]).toEqual([null, null])
    expect(smallBodyBytesHeld()).toBe(2 * SIZE)
    serverA.sent = true
    await until(() => smallBodyBytesHeld() === SIZE)
    expect(smallBodyBytesHeld()).toBe(SIZE)
    serverB.sent = true
    await until(() => smallBodyBytesHeld() === 0)
    expect(smallBodyBytesHeld()).toBe(0)
    expect((await fromA.arrayBuffer()).byteLength).toBe(SIZE)
  } finally {
    await a.close()
    await b.close()
  }
})

test('an app answering in process beside a served one reads the file whole and counts nothing', async () => {
  const path = file('in-process')
  const [served, inProcess] = [await built(), await built()]
  served.app.server = fakeServer()
  try {
    const res = await inProcess.fetch(download(path))
    expect(res.headers.get('connection')).toBeNull()
    expect(smallBodyBytesHeld()).toBe(0)
    expect((await res.arrayBuffer()).byteLength).toBe(SIZE)
  } finally {
    await served.close()
    await inProcess.close()
  }
})

const sending = (app: Awaited<ReturnType<typeof built>>) =>
  app.sections.held().find(p => p.what === 'downloads still sending')

test('each served app names its own downloads still being sent, by route group, until they are sent', async () => {
  const path = file('named')
  const { a, b, serverA } = await twoServed()
  try {
    const small = join(dir, 'small')
    writeFileSync(small, 'x')
    const answers = [await a.fetch(download(path)), await a.fetch(download(small))]
    // A HEAD sends no body: nothing to name.
    await a.fetch(new Request(download(path), { method: 'HEAD' }))
    expect(sending(a)).toMatchObject({ held: 2, byKind: { 'GET /files': 2 } })
    expect(sending(a)!.oldest).toEqual([
      { kind: 'GET /files', ms: expect.any(Number) },
      { kind: 'GET /files', ms: expect.any(Number) },
    ])
    expect(sending(b)).toMatchObject({ held: 0, byKind: {} })
    // Nothing of what the client sent is in it: no path.
    expect(JSON.stringify(a.sections.held())).not.toContain(dir)
    serverA.sent = true
    await until(() => sending(a)!.held === 0)
    expect(sending(a)!.held).toBe(0)
    for (const r of answers) await r.arrayBuffer()
  } finally {
    await a.close()
    await b.close()
  }
})
