/**
 * Downloads against the copy made before a body is sent (core/file-snapshot.ts, file-body.ts):
 * a Range download while the file is truncated, grown, rewritten or renamed over, where every
 * byte received must be one the file held at that offset at some time (the versions are
 * offset-dependent patterns with no zero byte, so a zero run the file never had, a byte from the
 * wrong offset and a shifted range all show), and a 206's Content-Range must agree with its
 * Content-Length; and clients that ask for a large file and never read, after which the copy
 * budget must come back (the next large download is copied again, not sent from the file with
 * `Connection: close`) and no copy stays open in execd; and downloads while the TMPDIR the
 * copies are made in is removed, or is a file, or a dangling symlink, or a small tmpfs that fills,
 * in a daemon of the race's own.
 */
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import { spawnSync } from 'node:child_process'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import { type Daemon, startDaemon } from '../harness'
import type { Violation } from './check'
import { marker } from './leftovers'
import { after, LIMIT_MS } from './races-kit'
import type { RaceCase, RaceName } from './races'
import type { World } from './world'

/** Byte `i` of version `v`: never 0, different at every offset between two versions. */
const pattern = (v: number, i: number): number => 1 + ((i * 31 + (i >> 12) * 7 + v * 101) % 254)
function version(v: number, from: number, to: number): Buffer {
  const b = Buffer.allocUnsafe(to - from)
  for (let i = from; i < to; i++) b[i - from] = pattern(v, i)
  return b
}

export const EDITS = [
  'truncate',
  'truncate-regrow',
  'truncate-sparse',
  'grow-sparse',
  'append',
  'pwrite-middle',
  'rewrite',
  'rename-over',
] as const
export type Edit = (typeof EDITS)[number]
export const RANGES = ['from-to', 'from', 'suffix', 'past-end', 'two'] as const
export type RangeKind = (typeof RANGES)[number]

/** Where each version may be found, and where the file held zeros (a hole it was grown by). */
interface Held {
  v0: number
  v1: [number, number]
  zeros: [number, number]
}

function range(kind: RangeKind, size: number, c: RaceCase): { header: string; start?: number; last?: number } {
  const a = Math.floor((size * ((c.delayMs * 37) % 100)) / 100)
  const b = Math.max(a, Math.min(size - 1, a + 1 + Math.floor(size / (c.n + 1))))
  switch (kind) {
    case 'from-to':
      return { header: `bytes=${a}-${b}`, start: a, last: b }
    case 'from':
      return { header: `bytes=${a}-`, start: a }
    case 'suffix':
      return { header: `bytes=-${size - a}` }
    case 'past-end':
      return { header: `bytes=${a}-${size * 2}`, start: a }
    case 'two':
      return { header: `bytes=0-0,${a}-${b}` }
  }
}

async function edit(path: string, e: Edit, size: number, cut: number): Promise<Held> {
  const held: Held = { v0: size, v1: [0, 0], zeros: [0, 0] }
  switch (e) {
    case 'truncate':
      truncateSync(path, cut)
      break
    case 'truncate-regrow': {
      truncateSync(path, cut)
      const fd = openSync(path, 'r+')
      writeSync(fd, version(0, cut, size), 0, size - cut, cut)
      closeSync(fd)
      break
    }
    case 'truncate-sparse':
      truncateSync(path, cut)
      truncateSync(path, size)
      held.zeros = [cut, size]
      break
    case 'grow-sparse':
      truncateSync(path, size * 2)
      held.zeros = [size, size * 2]
      break
    case 'append': {
      const fd = openSync(path, 'r+')
      writeSync(fd, version(0, size, size * 2), 0, size, size)
      closeSync(fd)
      held.v0 = size * 2
      break
    }
    case 'pwrite-middle': {
      const fd = openSync(path, 'r+')
      const lo = size >> 2
      const hi = size - lo
      writeSync(fd, version(1, lo, hi), 0, hi - lo, lo)
      closeSync(fd)
      held.v1 = [lo, hi]
      break
    }
    case 'rewrite':
      writeFileSync(path, version(1, 0, size))
      held.v1 = [0, size]
      break
    case 'rename-over':
      writeFileSync(`${path}.new`, version(1, 0, size))
      renameSync(`${path}.new`, path)
      held.v1 = [0, size]
      break
  }
  return held
}

const heldAt = (h: Held, i: number, b: number): boolean =>
  (i < h.v0 && b === pattern(0, i)) ||
  (i >= h.v1[0] && i < h.v1[1] && b === pattern(1, i)) ||
  (i >= h.zeros[0] && i < h.zeros[1] && b === 0)

async function rangeVsChange(c: RaceCase, w: World): Promise<Violation[]> {
  const dir = join(w.layout.root, 'race')
  mkdirSync(dir, { recursive: true })
  const path = join(dir, `r${marker()}`)
  const size = c.kib * 1024 + (c.n - 2) * 4097
  writeFileSync(path, version(0, 0, size))
  const cut = Math.floor((size * ((c.delayMs * 53 + c.n) % 100)) / 100)
  const r = range(c.rangeKind, size, c)
  const label = `GET /files/download Range ${r.header} of ${size} bytes while ${c.edit} (cut ${cut}${c.delayMs % 2 ? ', after the headers' : ''})`
  const signal = AbortSignal.timeout(LIMIT_MS)
  // Odd delays edit once the answer's headers are in and read the body only then: what was
  // queued before the edit must be the file as it was (a sendfile of the file's own pages sent
  // zeros where a truncation cut them); even ones edit while the request is handled.
  const late = c.delayMs % 2 === 1
  let headed: () => void = () => {}
  const headers = new Promise<void>(r => (headed = r))
  let edited: () => void = () => {}
  const gate = new Promise<void>(r => (edited = r))
  const reading = (async () => {
    const res = await w.daemon
      .fetch(`/files/download?path=${encodeURIComponent(path)}`, { headers: { range: r.header }, signal })
      .finally(headed)
    if (late) await gate
    const chunks: Buffer[] = []
    let cut = ''
    try {
      const reader = res.body?.getReader()
      for (;;) {
        const next = await reader?.read()
        if (!next || next.done) break
        chunks.push(Buffer.from(next.value))
      }
    } catch (err) {
      cut = String(err).slice(0, 120)
    }
    return { res, body: Buffer.concat(chunks), cut }
  })()
  if (late) await headers
  else await after(c.delayMs % 40)
  const held = await edit(path, c.edit, size, cut)
  if (late) await after(c.n * 20)
  edited()
  // With n of 3 or more the edit and a restore of the first version take turns until the answer
  // is in, so one of them lands between the open, the copy and the send whatever the timing.
  let answered = false
  const turns =
    c.n < 3
      ? Promise.resolve()
      : (async () => {
          for (let k = 0; !answered && k < 2000; k++) {
            await after(1)
            const fd = openSync(path, 'r+')
            writeSync(fd, version(0, 0, size), 0, size, 0)
            closeSync(fd)
            truncateSync(path, size)
            await after(1)
            if (!answered) await edit(path, c.edit, size, cut)
          }
        })()
  const out: Violation[] = []
  let got: Awaited<typeof reading>
  try {
    got = await reading
  } catch (err) {
    answered = true
    await turns
    return [
      {
        kind: signal.aborted ? 'hang' : 'stream',
        detail: `${label}: ${signal.aborted ? 'no answer in time' : `closed unanswered: ${String(err).slice(0, 120)}`}`,
      },
    ]
  }
  const { res, body, cut: broken } = got
  answered = true
  await turns
  const at = `${label}: ${res.status}`
  if (![200, 206, 416].includes(res.status)) {
    out.push({
      kind: res.status >= 500 ? '5xx' : 'contract',
      detail: `${at} (expected 200, 206 or 416) ${body.toString().slice(0, 160)}`,
    })
    return out
  }
  const contentRange = res.headers.get('content-range') ?? ''
  if (res.status === 416) {
    // Only a range of which nothing is left once the file shrank (or a start past a grown-back end).
    if (!/^bytes \*\/\d+$/.test(contentRange))
      out.push({ kind: 'contract', detail: `${at} with Content-Range ${JSON.stringify(contentRange)}` })
    if (!body.toString().includes('RANGE_NOT_SATISFIABLE'))
      out.push({ kind: 'error-shape', detail: `${at}: ${body.toString().slice(0, 160)}` })
    return out
  }
  const length = Number(res.headers.get('content-length') ?? Number.NaN)
  let base = 0
  if (res.status === 206) {
    const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(contentRange)
    if (!m) {
      out.push({ kind: 'contract', detail: `${at} with Content-Range ${JSON.stringify(contentRange)}` })
      return out
    }
    const [s, e, total] = [Number(m[1]), Number(m[2]), Number(m[3])]
    base = s
    if (e - s + 1 !== length || e >= total)
      out.push({ kind: 'contract', detail: `${at}: Content-Range ${contentRange} over a Content-Length ${length}` })
    if (r.start !== undefined && s !== r.start)
      out.push({ kind: 'contract', detail: `${at}: Content-Range ${contentRange} starts elsewhere than asked` })
    if (r.last !== undefined && e > r.last)
      out.push({ kind: 'contract', detail: `${at}: Content-Range ${contentRange} ends past what was asked` })
  } else if (c.rangeKind !== 'two' && contentRange)
    out.push({ kind: 'contract', detail: `${at} with Content-Range ${contentRange}` })
  if (body.length > length)
    out.push({ kind: 'contract', detail: `${at}: ${body.length} bytes, more than the Content-Length ${length}` })
  if (!broken && body.length < length)
    out.push({ kind: 'contract', detail: `${at}: ${body.length} of ${length} bytes and the body ended cleanly` })
  for (let k = 0; k < body.length; k++)
    if (!heldAt(held, base + k, body[k]!)) {
      let run = k
      while (run < body.length && body[run] === body[k]) run++
      out.push({
        kind: 'contract',
        detail: `${at}: byte ${base + k} (body ${k}) is ${body[k]}, which the file never held there (a run of ${run - k})`,
      })
      break
    }
  return out
}

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
async function unreadClients(c: RaceCase, w: World): Promise<Violation[]> {
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
async function tmpdirGone(c: RaceCase, w: World): Promise<Violation[]> {
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
async function tmpdirSmall(c: RaceCase, w: World): Promise<Violation[]> {
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

export const DOWNLOAD_RACES: Partial<Record<RaceName, (c: RaceCase, w: World) => Promise<Violation[]>>> = {
  'download-range-vs-change': rangeVsChange,
  'downloads-unread': unreadClients,
  'download-tmpdir-gone': tmpdirGone,
  'download-tmpdir-small': tmpdirSmall,
}
