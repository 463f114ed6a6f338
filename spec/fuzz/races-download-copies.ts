/**
 * Downloads against the copies' budgets and where they are made (core/file-snapshot.ts,
 * file-body.ts): clients that ask for a large file and never read, after which the copy budget
 * must come back (the next large download is copied again, not sent from the file with
 * `Connection: close`) and no copy stays open in execd; and downloads while the TMPDIR the copies
 * are made in is removed, or is a file, or a dangling symlink, or a small tmpfs that fills, in a
 * daemon of the race's own. The Range races are in races-downloads.ts.
 */
import { mkdirSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import { type Daemon, startDaemon } from '../harness'
import type { Violation } from './check'
import { marker } from './leftovers'
import { after, LIMIT_MS } from './races-kit'
import type { RaceCase } from './races'
import type { World } from './world'

import { version } from './races-kit'

/** A daemon's descriptors on unnamed copies in `tmp` (O_TMPFILE: `<tmp>/#<inode> (deleted)`). */
function copiesOpen(d: Daemon, tmp: string): number {
  const dir = `/proc/${d.proc.pid}/fd`
  let n = 0
  try {
    for (const fd of readdirSync(dir))
      try {
        if (readlinkSync(join(dir, fd)).startsWith(`${tmp}/#`)) n++
      } catch {}
  } catch {}
  return n
}

/**
 * Clients that ask for a large file (past the 4 MiB sent from memory) and read nothing, then
 * leave: the copies they held must be closed, and the next large download is copied again.
 */
export async function unreadClients(c: RaceCase, w: World): Promise<Violation[]> {
  const dir = join(w.layout.root, 'race')
  mkdirSync(dir, { recursive: true })
  const path = join(dir, `u${marker()}`)
  const size = 6 * 1024 * 1024 + c.n
  writeFileSync(path, version(0, 0, size))
  const clients = 4 + c.n * 3
  const url = new URL(w.daemon.url)
  const sockets: Socket[] = []
  for (let i = 0; i < clients; i++) {
    const s = connect(Number(url.port), url.hostname)
    s.on('error', () => {})
    s.pause()
    s.write(
      `GET /files/download?path=${encodeURIComponent(path)} HTTP/1.1\r\nHost: ${url.host}\r\n` +
        `X-EXECD-ACCESS-TOKEN: ${w.daemon.token}\r\n\r\n`,
    )
    sockets.push(s)
  }
  await after(200 + (c.delayMs % 300))
  const during = copiesOpen(w.daemon, w.tmp)
  for (const s of sockets) s.destroy()
  const label = `${clients} clients of a ${size}-byte download that read nothing and left`
  const out: Violation[] = []
  // Other lanes' downloads may hold a copy for a moment: the count must come down, not to 0.
  const deadline = Date.now() + 10_000
  let left = copiesOpen(w.daemon, w.tmp)
  while (left >= Math.min(during, clients) && left > 0 && Date.now() < deadline) {
    await Bun.sleep(100)
    left = copiesOpen(w.daemon, w.tmp)
  }
  if (left >= clients)
    out.push({
      kind: 'stray-temp',
      detail: `${label}: ${left} copies still open 10 s later (${during} while they waited)`,
    })
  const res = await w.daemon.fetch(`/files/download?path=${encodeURIComponent(path)}`, {
    signal: AbortSignal.timeout(LIMIT_MS),
  })
  const body = Buffer.from(await res.arrayBuffer())
  const again = `${label}, then one that read`
  if (res.status !== 200) out.push({ kind: 'contract', detail: `${again}: ${res.status}` })
  else if (!body.equals(version(0, 0, size)))
    out.push({ kind: 'contract', detail: `${again}: ${body.length} bytes, not the file's ${size}` })
  else if (res.headers.get('connection') === 'close')
    out.push({
      kind: 'stray-temp',
      detail: `${again}: sent uncopied (Connection: close): the copy budget did not come back`,
    })
  return out
}

const TMP_HOW = ['removed', 'a file', 'a dangling symlink', 'removed and made again'] as const

/**
 * Downloads, whole and by range, small and large, while the daemon's TMPDIR goes away under
 * them (a daemon of the race's own, so nothing else in the campaign loses its TMPDIR): every
 * answer is the file's bytes exactly, with its Content-Length, and the daemon lives on.
 */
export async function tmpdirGone(c: RaceCase, w: World): Promise<Violation[]> {
  const dir = join(w.layout.root, 'race')
  mkdirSync(dir, { recursive: true })
  const path = join(dir, `t${marker()}`)
  const size = c.kib * 1024 + 4097
  const bytes = version(0, 0, size)
  writeFileSync(path, bytes)
  const tmp = join(w.tmp, `gone${marker()}`)
  mkdirSync(tmp)
  const how = TMP_HOW[(c.n + c.delayMs) % TMP_HOW.length]!
  const out: Violation[] = []
  let d: Daemon
  try {
    d = await startDaemon({
      args: ['--root', w.layout.root, '--python-spare', '0', '--log-level', 'warn'],
      cwd: w.layout.cwd,
      env: { HOME: w.layout.home, TMPDIR: tmp },
    })
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true })
    return [{ kind: 'crash', detail: `a daemon for the TMPDIR race did not start: ${String(err).slice(0, 200)}` }]
  }
  const label = `GET /files/download of ${size} bytes while TMPDIR is ${how}`
  try {
    const asks = Array.from({ length: c.n + 2 }, (_, i) => {
      const from = Math.floor((size * ((i * 29 + c.delayMs) % 100)) / 100)
      return i % 2 ? { range: `bytes=${from}-`, from } : { range: '', from: 0 }
    })
    const gets = asks.map(async (a, i) => {
      if (i % 3 === 2) await after(c.delayMs % 30)
      const res = await d.fetch(`/files/download?path=${encodeURIComponent(path)}`, {
        headers: a.range ? { range: a.range } : {},
        signal: AbortSignal.timeout(LIMIT_MS),
      })
      return { a, res, body: Buffer.from(await res.arrayBuffer()) }
    })
    await after(c.delayMs % 20)
    rmSync(tmp, { recursive: true, force: true })
    if (how === 'a file') writeFileSync(tmp, 'not a directory')
    if (how === 'a dangling symlink') symlinkSync(join(w.tmp, 'nowhere'), tmp)
    if (how === 'removed and made again') mkdirSync(tmp)
    for (const got of await Promise.allSettled(gets)) {
      if (got.status === 'rejected') {
        out.push({ kind: 'stream', detail: `${label}: ${String(got.reason).slice(0, 160)}` })
        continue
      }
      const { a, res, body } = got.value
      const at = `${label}${a.range ? ` (Range ${a.range})` : ''}: ${res.status}`
      const want = bytes.subarray(a.from)
      if (res.status !== (a.range ? 206 : 200))
        out.push({ kind: res.status >= 500 ? '5xx' : 'contract', detail: `${at} ${body.toString().slice(0, 160)}` })
      else if (!body.equals(want) || Number(res.headers.get('content-length')) !== want.length)
        out.push({
          kind: 'contract',
          detail: `${at}: ${body.length} bytes (Content-Length ${res.headers.get('content-length')}), not the file's ${want.length}`,
        })
    }
    if (d.proc.exitCode !== null) out.push({ kind: 'crash', detail: `${label}: execd exited ${d.proc.exitCode}` })
  } finally {
    const code = await d.stop()
    if (code !== 0) out.push({ kind: 'crash', detail: `${label}: execd stopped with ${code}: ${d.logs().slice(-300)}` })
    rmSync(tmp, { recursive: true, force: true })
  }
  return out
}

/** A tmpfs of `size` at `dir` (root only), unmounted by the returned function; null when it cannot be. */
function tmpfs(dir: string, size: string): (() => void) | null {
  if (process.getuid?.() !== 0) return null
  mkdirSync(dir, { recursive: true })
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]).status !== 0) return null
  return () => void spawnSync('umount', ['-l', dir])
}

/**
 * A daemon of the race's own whose TMPDIR is a small tmpfs, so its copies are memory (the 64
 * MiB budget) and the tmpfs can fill: n+6 clients of a 6 MiB file at once into 40 MiB (each copy
 * passes the free-space check alone, together they run out mid-copy), or a tmpfs already full,
 * or clients that never read until the memory budget is spent, then leave. Every answer is the
 * file exactly; once the stalled clients are gone the next download is copied again.
 */
export async function tmpdirSmall(c: RaceCase, w: World): Promise<Violation[]> {
  const dir = join(w.layout.root, 'race')
  mkdirSync(dir, { recursive: true })
  const path = join(dir, `s${marker()}`)
  const size = 6 * 1024 * 1024 + c.n
  const bytes = version(0, 0, size)
  writeFileSync(path, bytes)
  const how = (['filling', 'full', 'budget'] as const)[(c.n + c.delayMs) % 3]!
  const tmp = join(w.tmp, `small${marker()}`)
  const unmount = tmpfs(tmp, how === 'budget' ? '512m' : '40m')
  if (!unmount) return []
  const out: Violation[] = []
  let d: Daemon | undefined
  const label = `GET /files/download of ${size} bytes, TMPDIR a tmpfs ${how}`
  try {
    if (how === 'full') writeFileSync(join(tmp, 'ballast'), Buffer.alloc(40 * 1024 * 1024 - 64 * 1024, 1))
    d = await startDaemon({
      args: ['--root', w.layout.root, '--python-spare', '0', '--log-level', 'warn'],
      cwd: w.layout.cwd,
      env: { HOME: w.layout.home, TMPDIR: tmp },
    })
    const daemon = d
    const get = async (i: number) => {
      const from = i % 2 ? Math.floor((size * ((i * 17 + c.delayMs) % 100)) / 100) : 0
      const res = await daemon.fetch(`/files/download?path=${encodeURIComponent(path)}`, {
        headers: from ? { range: `bytes=${from}-` } : {},
        signal: AbortSignal.timeout(LIMIT_MS),
      })
      const body = Buffer.from(await res.arrayBuffer())
      const want = bytes.subarray(from)
      const at = `${label}${from ? ` (Range bytes=${from}-)` : ''}: ${res.status}`
      if (res.status !== (from ? 206 : 200))
        out.push({ kind: res.status >= 500 ? '5xx' : 'contract', detail: `${at} ${body.toString().slice(0, 160)}` })
      else if (!body.equals(want) || Number(res.headers.get('content-length')) !== want.length)
        out.push({ kind: 'contract', detail: `${at}: ${body.length} bytes, not the file's ${want.length}` })
      return res
    }
    if (how !== 'budget') {
      const all = await Promise.allSettled(Array.from({ length: c.n + 6 }, (_, i) => get(i)))
      for (const r of all)
        if (r.status === 'rejected') out.push({ kind: 'stream', detail: `${label}: ${String(r.reason).slice(0, 160)}` })
    } else {
      const url = new URL(daemon.url)
      const sockets: Socket[] = []
      for (let i = 0; i < 12 + c.n; i++) {
        const s = connect(Number(url.port), url.hostname)
        s.on('error', () => {})
        s.pause()
        s.write(
          `GET /files/download?path=${encodeURIComponent(path)} HTTP/1.1\r\nHost: ${url.host}\r\n` +
            `X-EXECD-ACCESS-TOKEN: ${daemon.token}\r\n\r\n`,
        )
        sockets.push(s)
      }
      await after(300 + (c.delayMs % 200))
      for (const s of sockets) s.destroy()
      // The budget comes back as each client's abort is seen, or at the next sweep (100 ms).
      let res = await get(0)
      const deadline = Date.now() + 5000
      while (res.headers.get('connection') === 'close' && Date.now() < deadline) {
        await after(200)
        res = await get(0)
      }
      if (res.headers.get('connection') === 'close')
        out.push({
          kind: 'stray-temp',
          detail: `${label}: ${sockets.length} stalled clients gone 5 s, a download still sent uncopied: the memory budget did not come back`,
        })
    }
    if (daemon.proc.exitCode !== null)
      out.push({ kind: 'crash', detail: `${label}: execd exited ${daemon.proc.exitCode}` })
  } catch (err) {
    out.push({ kind: 'crash', detail: `${label}: ${String(err).slice(0, 200)}` })
  } finally {
    const code = await d?.stop()
    if (code !== undefined && code !== 0)
      out.push({ kind: 'crash', detail: `${label}: execd stopped with ${code}: ${d?.logs().slice(-300)}` })
    unmount()
    rmSync(tmp, { recursive: true, force: true })
  }
  return out
}
