/**
 * A SIGKILLed execd leaves nothing it started running (core/keeper.ts): its interpreters, its
 * commands foreground and background with what they forked, a terminal's program, each gone
 * within seconds of execd, with the keeper itself. And the normal paths are as they were: a
 * context's DELETE ends that interpreter alone, a SIGTERM everything, the keeper with it.
 */
import { afterAll, afterEach, beforeAll, expect, test } from 'bun:test'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { keepersOf, postJson, startDaemon, waitFor, type Daemon } from './harness'
import { PtyClient } from './pty-client'
import { createContext } from './runtime-kit'
import { pidsUnder, stillLive } from './kit/own-pids'

/** Seconds no other test sleeps for: each of this file's processes is found by its argument. */
const MARK = `4242.${process.pid}`
const mark = (n: number) => `${MARK}${n}`

const daemons: Daemon[] = []
afterEach(() => {
  for (const d of daemons.splice(0)) d.proc.kill('SIGKILL')
})

// A SIGKILLed execd's staging journal stays for the next execd to sweep: in a TMPDIR of this
// file's own, removed with it, not the shard's.
let tmp: string
beforeAll(() => void (tmp = mkdtempSync(join(tmpdir(), 'sigkill-keeper-'))))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

async function daemon(): Promise<Daemon> {
  const d = await startDaemon({ env: { TMPDIR: tmp } })
  daemons.push(d)
  return d
}

/** Starts a background command; resolves once its answer says it started. */
async function background(d: Daemon, command: string): Promise<void> {
  const res = await postJson(d, '/command', { command, background: true })
  expect(res.status).toBe(200)
  await res.text()
}

/** Every live process under execd, once each of `marks` runs there. */
async function treeWith(d: Daemon, marks: string[]): Promise<number[]> {
  for (const m of marks) await waitFor(m, () => pidsUnder(m, d.proc.pid).length > 0, 30_000)
  return pidsUnder('', d.proc.pid)
}

/** SIGKILLs execd and waits until none of `pids` runs; what still runs after 10 s, by command line. */
async function killedLeaves(d: Daemon, pids: number[]): Promise<string[]> {
  d.proc.kill('SIGKILL')
  await d.proc.exited
  const deadline = Date.now() + 10_000
  while (stillLive(pids, '').length > 0 && Date.now() < deadline) await Bun.sleep(50)
  const left = stillLive(pids, '')
  const named = left.map(pid => readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' ').trim())
  // A failing run leaves nothing behind either (what it left is named above).
  for (const pid of left) process.kill(pid, 'SIGKILL')
  return named
}

test('a SIGKILLed execd leaves no interpreter, command, forked job or terminal program running', async () => {
  const d = await daemon()
  await createContext(d, 'python')
  await createContext(d, 'javascript')
  await background(d, `sleep ${mark(1)} & sleep ${mark(2)}`)
  // Left its group and its session: the marker in its environment still names execd.
  await background(d, `setsid sleep ${mark(3)} & sleep ${mark(4)}`)
  const foreground = postJson(d, '/command', { command: `sleep ${mark(5)}` }).catch(() => undefined)
  const pty = await postJson(d, '/pty', { command: `sleep ${mark(6)}` })
  expect(pty.status).toBe(201)
  // The terminal's program starts with its first client.
  const client = await PtyClient.connect(d, (await pty.json()).session_id)
  const pids = await treeWith(d, [1, 2, 3, 4, 5, 6].map(mark))
  const keepers = keepersOf(d.proc.pid).length
  // Python's and javascript's interpreters, the shells and sleeps, the terminal's.
  expect(pids.length).toBeGreaterThanOrEqual(11)
  expect(await killedLeaves(d, pids)).toEqual([])
  expect(keepers).toBe(1)
  await foreground
  client.ws.close()
}, 60_000)

test("a context's DELETE ends its interpreter alone, and a SIGTERM everything with the keeper", async () => {
  const d = await daemon()
  const id = await createContext(d, 'python')
  await background(d, `sleep ${mark(7)}`)
  const all = await treeWith(d, [mark(7)])
  const [keeper] = keepersOf(d.proc.pid)
  const python = all.filter(pid => pidsUnder('python', d.proc.pid).includes(pid))
  expect(python.length).toBeGreaterThan(0)
  expect((await d.fetch(`/code/contexts/${id}`, { method: 'DELETE' })).status).toBe(200)
  await waitFor('the interpreter to end', () => stillLive(python, '').length === 0)
  expect(stillLive(pidsUnder(mark(7), d.proc.pid), mark(7))).toHaveLength(1)
  expect(keepersOf(d.proc.pid).map(k => k.pid)).toEqual([keeper!.pid])
  expect(await d.stop()).toBe(0)
  await waitFor('nothing of execd to run', () => stillLive(all, '').length === 0, 10_000)
}, 60_000)

test('a keeper killed from outside is replaced, and the new one still ends what execd ran', async () => {
  const d = await daemon()
  await background(d, `sleep ${mark(8)} & sleep ${mark(9)}`)
  await treeWith(d, [mark(8), mark(9)])
  const [first] = keepersOf(d.proc.pid)
  process.kill(first!.pid, 'SIGKILL')
  await waitFor('another keeper', () => keepersOf(d.proc.pid).some(k => k.pid !== first!.pid), 10_000)
  const pids = pidsUnder('', d.proc.pid)
  expect(await killedLeaves(d, pids)).toEqual([])
}, 60_000)

test('a keeper a command stopped is replaced within seconds, and the new one ends what execd ran', async () => {
  const d = await daemon()
  await background(d, `sleep ${mark(11)}`)
  await treeWith(d, [mark(11)])
  const [first] = keepersOf(d.proc.pid)
  try {
    // A stopped keeper reads no line and would never act on execd's death: it was replaced only
    // once 64 KiB of lines waited (~8,000 commands).
    await background(d, `kill -STOP ${first!.pid}; sleep ${mark(12)}`)
    await treeWith(d, [mark(12)])
    const replaced = () => keepersOf(d.proc.pid).some(k => k.pid !== first!.pid)
    const deadline = Date.now() + 10_000
    while (!replaced() && Date.now() < deadline) await Bun.sleep(50)
    // Killed either way, so a failing run leaves no sleep behind: killedLeaves names what stayed.
    const wasReplaced = replaced()
    expect(await killedLeaves(d, pidsUnder('', d.proc.pid))).toEqual([])
    expect(wasReplaced).toBe(true)
  } finally {
    // Not left stopped if it was not replaced (a failing run): it is this daemon's keeper.
    try {
      process.kill(first!.pid, 'SIGKILL')
    } catch {}
  }
}, 60_000)

test("a SIGKILLed execd's temp dirs are removed by its keeper, not left for the next execd", async () => {
  const d = await daemon()
  await createContext(d, 'javascript')
  await background(d, `sleep ${mark(10)}`)
  expect((await postJson(d, '/session', {})).status).toBeLessThan(300)
  await treeWith(d, [mark(10)])
  const own = () => readdirSync(tmp).filter(n => n.startsWith('execd-') && n.includes(`-${d.proc.pid}-`))
  const made = own()
  // The javascript driver's dir and the commands' (their output) at least.
  expect(made.length).toBeGreaterThanOrEqual(2)
  d.proc.kill('SIGKILL')
  await d.proc.exited
  await waitFor(`${made.join(', ')} to go`, () => own().length === 0, 10_000)
}, 60_000)
