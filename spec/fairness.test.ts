/**
 * One flood must not hold the daemon: a child writing as fast as it can (`yes`) keeps its pipe
 * and its stream always ready, and a loop of reads that are ready never gave the event loop a
 * turn — `/ping` waited 2–10 s, until the flood paused or ended. The tests check that other
 * requests are answered while the flood still runs, and how much of the flood went out while
 * a `/ping` waited (no timing: the flood runs until it is deleted).
 */
import { expect, test } from 'bun:test'
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { postJson, readSse, startDaemon, waitFor } from './harness'
import { daemonAlone } from './kit/daemon-dir'
import { pidsUnder, stillLive } from './kit/own-pids'

const fx = daemonAlone()

/** `yes`'s two-byte lines: the most events per byte, the hardest flood to keep up with. */
const FLOOD = 'exec -a fairness-flood yes'
/** This daemon's floods, not those of the same file run elsewhere at once. */
const floods = (): number[] => pidsUnder('fairness-flood', fx.d.proc.pid)

test('a background flood: /ping and the command status answer while it runs', async () => {
  const res = await postJson(fx.d, '/command', { command: FLOOD, background: true })
  const [init] = await readSse(res, f => f.data.type === 'init')
  const id = init!.data.text as string
  try {
    await waitFor('the flood to start', () => floods().length > 0)
    for (let i = 0; i < 3; i++) expect((await fx.d.fetch('/ping')).status).toBe(200)
    const status = await (await fx.d.fetch(`/command/status/${id}`)).json()
    expect(status.running).toBe(true)
  } finally {
    await fx.d.fetch(`/command?id=${id}`, { method: 'DELETE' })
  }
  await waitFor('the flood to end', () => floods().length === 0)
})

/**
 * Reads `res` as fast as it comes and asks for /ping three times meanwhile: each answered
 * within a few 256 KiB budgets of flood (held behind it, tens of MiB), the stream still open.
 */
async function pingsDuringFlood(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  stop: () => Promise<unknown>,
): Promise<void> {
  let open = true
  let received = 0
  const drained = (async () => {
    for (let r = await reader.read(); !r.done; r = await reader.read()) received += r.value.byteLength
    open = false
  })()
  try {
    await waitFor('the flood to start', () => received > 4 * 1024 * 1024)
    for (let i = 0; i < 3; i++) {
      const before = received
      expect((await fx.d.fetch('/ping')).status).toBe(200)
      expect(received - before).toBeLessThan(16 * 1024 * 1024)
    }
    expect(open).toBe(true)
  } finally {
    await stop()
    await reader.cancel().catch(() => {})
    await drained.catch(() => {})
  }
  await waitFor('the flood to end', () => floods().length === 0)
}

test('a foreground flood read as fast as it comes: /ping answers while the stream is open', async () => {
  const res = await postJson(fx.d, '/command', { command: FLOOD })
  const reader = res.body!.getReader()
  const first = new TextDecoder().decode((await reader.read()).value)
  const id = JSON.parse(/^data: (.*)$/m.exec(first)![1]!).text as string
  await pingsDuringFlood(reader, () => fx.d.fetch(`/command?id=${id}`, { method: 'DELETE' }))
})

test('a session run flooding, read as fast as it comes: /ping answers while the stream is open', async () => {
  const sid = (await (await postJson(fx.d, '/session', {})).json()).session_id as string
  const res = await postJson(fx.d, `/session/${sid}/run`, { command: FLOOD })
  await pingsDuringFlood(res.body!.getReader(), () => fx.d.fetch(`/session/${sid}`, { method: 'DELETE' }))
})

/** Bytes of every file under `dir` (the command logs of a daemon whose TMPDIR it is). */
function bytesUnder(dir: string): number {
  let n = 0
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    try {
      if (e.isFile()) n += statSync(join(e.parentPath, e.name)).size
    } catch {} // removed meanwhile
  }
  return n
}

/**
 * Floods nobody reads (background, or a client that left) have no reader to pace them: each
 * pump took its 256 KiB budget of two-byte lines per turn, and /ping waited behind all of them
 * (3–6 s with ten on a loaded 2-core machine). Together they now get one share of the loop.
 */
test('eight floods nobody reads: /ping waits behind less than 1 MiB of their output', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'execd-fair-'))
  const own = await startDaemon({ env: { TMPDIR: tmp } })
  let started: number[] = []
  try {
    for (let i = 0; i < 8; i++) await readSse(await postJson(own, '/command', { command: FLOOD, background: true }))
    await waitFor('the floods to start', () => bytesUnder(tmp) > 128 * 1024)
    for (let i = 0; i < 3; i++) {
      const before = bytesUnder(tmp)
      expect((await own.fetch('/ping')).status).toBe(200)
      expect(bytesUnder(tmp) - before).toBeLessThan(1024 * 1024)
    }
  } finally {
    started = pidsUnder('fairness-flood', own.proc.pid) // all eight: each answered its init
    await own.stop()
    rmSync(tmp, { recursive: true, force: true })
  }
  await waitFor('the floods to end', () => stillLive(started, 'fairness-flood').length === 0)
})
