/**
 * Downloads against the copy made before a body is sent (core/file-snapshot.ts, file-body.ts):
 * a Range download while the file is truncated, grown, rewritten or renamed over, where every
 * byte received must be one the file held at that offset at some time (the versions are
 * offset-dependent patterns with no zero byte, so a zero run the file never had, a byte from the
 * wrong offset and a shifted range all show), and a 206's Content-Range must agree with its
 * Content-Length. The copies' budgets and TMPDIR: races-download-copies.ts.
 */
import { closeSync, mkdirSync, openSync, renameSync, truncateSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import type { Violation } from './check'
import { marker } from './leftovers'
import type { RaceCase, RaceName } from './races'
import type { World } from './world'
import { unreadClients, tmpdirGone, tmpdirSmall } from './races-download-copies'
import { after, LIMIT_MS, pattern, readToEnd, version } from './races-kit'

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
    return { res, ...(await readToEnd(res)) }
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

export const DOWNLOAD_RACES: Partial<Record<RaceName, (c: RaceCase, w: World) => Promise<Violation[]>>> = {
  'download-range-vs-change': rangeVsChange,
  'downloads-unread': unreadClients,
  'download-tmpdir-gone': tmpdirGone,
  'download-tmpdir-small': tmpdirSmall,
}
