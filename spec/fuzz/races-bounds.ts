/**
 * Races at the bounds the fourteenth passes added: work queued in a shell or a context at its
 * bound (core/limits.ts QueuedWork) by clients that leave at once, after which the bound must
 * come back whole; running commands' logs bounded together (--command-log-total-bytes) while
 * commands start, finish and are deleted, after which a lone command's log is whole again;
 * downloads past --download-copy-max (core/socket-body.ts) while the file is truncated, replaced
 * or deleted; and (races-walks.ts) walks left mid-way and a JavaScript cell closing fd 3.
 */
import { mkdirSync, renameSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Daemon, startDaemon } from '../harness'
import type { Violation } from './check'
import { marker, orphans, withMarker } from './leftovers'
import { after, json, LIMIT_MS, readToEnd, version } from './races-kit'
import type { RaceCase, RaceName } from './races'
import { call, clearedSince, judge, judgeContext } from './stream'
import { CONTEXT_AND_WALK_RACES } from './races-walks'
import type { World } from './world'

type Run = (c: RaceCase, w: World) => Promise<Violation[]>

/** QueuedWork's per-holder bound (core/live-bash/events.ts, plugins/code/executions.ts). */
const PER_HOLDER = 256

/** Posts one run or cell and leaves once it is queued (its first frame), or after `leaveMs`. */
async function postAndLeave(w: World, path: string, body: unknown, leaveMs: number): Promise<number | 'left'> {
  const ac = new AbortController()
  const timer = setTimeout(() => ac.abort(), leaveMs)
  try {
    const res = await w.daemon.fetch(path, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
      signal: ac.signal,
    })
    if (res.status !== 200) {
      const text = await res.text()
      if (res.status === 503 && json({ text } as never).code !== 'SERVICE_UNAVAILABLE') return -503
      return res.status
    }
    const reader = res.body?.getReader()
    await reader?.read()
    ac.abort()
    return 200
  } catch {
    return 'left'
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Fills the holder behind a running `sleep`: how many were taken, refused, and left unknown. A
 * client that leaves between its first frames and execd's asking for the run's next event gives
 * its place back at once (its run was never queued, and never runs): under load some do, so
 * the fill goes on past the bound until the refusals show it.
 */
async function fill(w: World, path: string, body: (i: number) => unknown, batch: number, leaveMs: number) {
  let taken = 0
  let refused = 0
  let unknown = 0
  const other: number[] = []
  for (let i = 0; i < 2 * PER_HOLDER + 8 && refused < 4; i += batch) {
    const got = await Promise.all(Array.from({ length: batch }, (_, k) => postAndLeave(w, path, body(i + k), leaveMs)))
    for (const g of got)
      if (g === 200) taken++
      else if (g === 503) refused++
      else if (g === 'left') unknown++
      else other.push(g)
  }
  return { taken, refused, unknown, other }
}

const queueAtBound: Run = async (c, shared) => {
  // On the races' own daemon: its clients that leave at once fill the streams too (smallDaemon).
  const w: World = { ...shared, daemon: await smallDaemon(shared) }
  const session = c.n % 2 === 0
  const since = w.clears
  const made = session
    ? await call(w, 'POST /session', 'POST', '/session', {}).done
    : await call(w, 'POST /code/context {bash}', 'POST', '/code/context', { language: 'bash' }).done
  const id = (json(made).session_id ?? json(made).id) as string | undefined
  if (!id) return session ? judge(made, [200]) : judgeContext(w, since, made, [200])
  const path = session ? `/session/${id}/run` : '/code'
  const body = (code: string) => (session ? { command: code } : { code, context: { id, language: 'bash' } })
  const label = session ? 'session runs' : 'context cells'
  const out: Violation[] = []
  const m = marker()
  try {
    for (let round = 1; round <= 2; round++) {
      // The busy one's client stays: a session's run whose client leaves is interrupted.
      // Its bound covers the fill too: 2 x 264 posts took 20 s on a loaded 2-core machine.
      const busy = call(w, `POST ${path} (sleep)`, 'POST', path, body(`sleep ${m}`), 3 * LIMIT_MS)
      const t0 = Date.now()
      await busy.init
      // Its sleep running, not only answered: killed below, it must be there to be killed.
      for (let i = 0; i < 100 && !withMarker(m).length; i++) await Bun.sleep(50)
      // Round 1 races clients leaving at once (some before they were answered); round 2 fills
      // one by one to see whether the bound came back whole.
      const f =
        round === 1
          ? await fill(w, path, () => body('true'), 8 * c.n, c.delayMs % 3 === 0 ? 1 : 2000)
          : await fill(w, path, () => body('true'), 1, 5000)
      const took = Date.now() - t0
      // Another case cleared the contexts (DELETE /code/contexts): this one is gone, not wrong.
      if (clearedSince(w, since)) break
      if (f.other.length)
        out.push({ kind: 'contract', detail: `${label} at the bound: answers ${[...new Set(f.other)].join(', ')}` })
      const room = PER_HOLDER - 1
      // More than `room` taken is runs given back before they were queued (fill); none refused
      // in twice the bound is a bound gone, fewer than `room` taken a bound shrunk by a leak.
      if (f.taken + f.unknown < room || (f.refused === 0 && f.unknown === 0))
        out.push({
          kind: 'contract',
          detail: `${label} round ${round}: ${f.taken} queued (${f.unknown} left before an answer), ${f.refused} refused in ${took} ms, where the bound leaves ${room} behind the busy one (its sleep ${withMarker(m).length ? 'still running' : 'gone'})`,
        })
      for (const p of withMarker(m))
        try {
          process.kill(p.pid, 'SIGKILL')
        } catch {}
      out.push(...judge(await busy.done, [200]))
      // The queued ones run (`true` each) and end: then there is room again.
      const deadline = Date.now() + LIMIT_MS
      let drained = false
      while (!drained && Date.now() < deadline) {
        const r = await call(w, `POST ${path} (echo, once there is room)`, 'POST', path, body('echo room')).done
        if (r.status === 200 && r.frames.some(f => f.type === 'stdout')) drained = true
        else if (r.status !== 503) {
          out.push(...(session ? judge(r, [200, 503]) : judgeContext(w, since, r, [200, 503])))
          if (r.status !== 200) break
        } else await Bun.sleep(100)
      }
      if (!drained && !clearedSince(w, since))
        out.push({ kind: 'hang', detail: `${label}: no room ${LIMIT_MS} ms after the busy one ended` })
    }
  } finally {
    const del = session
      ? await call(w, 'DELETE /session/{id}', 'DELETE', `/session/${id}`).done
      : await call(w, 'DELETE /code/contexts/{id}', 'DELETE', `/code/contexts/${id}`).done
    out.push(...judge(del, [200, 404]))
  }
  out.push(...(await orphans(`${label} at the bound`, m)))
  return out
}

/**
 * A daemon of the races' own, with small bounds, started once and kept for the campaign. The
 * queue race fills a context's queue of 256 with clients that leave at once: execd answers each
 * request they sent, so for up to ~80 ms 256 `POST /code` held a stream slot each, and on the
 * campaign's daemon another lane's `POST /command` was refused at --max-streams (seed 44101).
 * Here it has room for every request the race sends (2 x 256 + 8, and the busy one).
 */
let small: Promise<Daemon> | undefined
const smallDaemon = (w: World): Promise<Daemon> =>
  (small ??= startDaemon({
    args: [
      '--root',
      w.layout.root,
      '--python-spare',
      '0',
      '--log-level',
      'warn',
      '--command-log-total-bytes',
      String(6 << 20),
      '--command-log-max-bytes',
      String(4 << 20),
      '--download-copy-max',
      String(64 << 10),
      '--max-streams',
      String(4 * PER_HOLDER),
    ],
    env: { TMPDIR: w.tmp },
  }).then(d => (process.once('beforeExit', () => void d.stop()), d)))

/** The daemon, once started: the quiescence check asks it too. */
export const boundsDaemonStarted = (): Promise<Daemon | undefined> =>
  small?.catch(() => undefined) ?? Promise.resolve(undefined)

/** Stops the bounds' daemon (main.ts and the suite call it at their end). */
export async function stopBoundsDaemon(): Promise<void> {
  const d = await small?.catch(() => undefined)
  small = undefined
  if (d && d.proc.exitCode === null) await d.stop()
}

const MiB = 1 << 20
const logTotal: Run = async (c, w) => {
  const d = await smallDaemon(w)
  const out: Violation[] = []
  const post = (command: string, background: boolean) =>
    d.fetch('/command', {
      method: 'POST',
      body: JSON.stringify({ command, background }),
      headers: { 'content-type': 'application/json' },
      signal: AbortSignal.timeout(LIMIT_MS),
    })
  const idOf = async (res: Response, leave: boolean): Promise<string | undefined> => {
    if (res.status !== 200) {
      out.push({
        kind: 'contract',
        detail: `POST /command answered ${res.status}: ${(await res.text()).slice(0, 120)}`,
      })
      return undefined
    }
    const reader = res.body!.getReader()
    let text = ''
    while (!text.includes('\n\n')) {
      const next = await reader.read()
      if (next.done) break
      text += new TextDecoder().decode(next.value)
    }
    const id = /"text":"([^"]+)"/.exec(text)?.[1]
    if (leave) await reader.cancel()
    else
      void (async () => {
        while (!(await reader.read()).done);
      })().catch(() => {})
    return id
  }
  // 3n commands of 2 MiB each at once against a 6 MiB total: some are cut "together"; some are
  // deleted while they write, some clients leave.
  const ids = await Promise.all(
    Array.from({ length: 3 * c.n }, async (_, i) => {
      const res = await post(
        `head -c ${2 * MiB} /dev/zero | tr '\\0' x${i % 3 === 0 ? `; sleep ${0.05 * (i % 5)}` : ''}`,
        i % 2 === 0,
      )
      const id = await idOf(res, i % 4 === 1)
      if (id && i % 3 === 1) {
        await after(c.delayMs % 50)
        await (await d.fetch(`/command?id=${id}`, { method: 'DELETE' })).arrayBuffer()
      }
      return id
    }),
  )
  // Every one ends (2 MiB of output each); then the running total is empty again.
  const deadline = Date.now() + LIMIT_MS
  for (const id of ids.filter(Boolean) as string[]) {
    for (;;) {
      const res = await d.fetch(`/command/status/${id}`)
      const st = res.status === 200 ? ((await res.json()) as { running?: boolean }) : (await res.arrayBuffer(), {})
      if (!st.running) break
      if (Date.now() > deadline) {
        out.push({ kind: 'hang', detail: `command ${id} of 2 MiB still running after ${LIMIT_MS} ms` })
        break
      }
      await Bun.sleep(50)
    }
  }
  // Other cases may run commands on this daemon at the same time: a cut log is retried.
  let whole = false
  let seen = ''
  for (let i = 0; i < 3 && !whole; i++) {
    const res = await post(`head -c ${3 * MiB} /dev/zero | tr '\\0' y`, false)
    const id = await idOf(res, false)
    if (!id) break
    for (let k = 0; k < 200; k++) {
      const st = (await (await d.fetch(`/command/status/${id}`)).json()) as {
        running?: boolean
        log_truncated?: string
      }
      if (!st.running) {
        const bytes = (await (await d.fetch(`/command/${id}/logs`)).arrayBuffer()).byteLength
        whole = bytes === 3 * MiB && !st.log_truncated
        seen = `${bytes} bytes, log_truncated ${st.log_truncated}`
        break
      }
      await Bun.sleep(50)
    }
    if (!whole) await Bun.sleep(1000)
  }
  if (!whole)
    out.push({
      kind: 'contract',
      detail: `after ${3 * c.n} commands ended, a lone 3 MiB command's log is cut: ${seen}`,
    })
  return out
}

const CHANGES = ['truncate', 'replace', 'delete', 'grow'] as const
const pastCopyMax: Run = async (c, w) => {
  const d = await smallDaemon(w)
  const out: Violation[] = []
  const dir = join(w.layout.root, `past-copy-${marker()}`)
  mkdirSync(dir)
  const file = join(dir, 'f.bin')
  const size = Math.max(256, c.kib) * 1024
  writeFileSync(file, version(1, 0, size))
  const change = CHANGES[c.n % CHANGES.length]!
  try {
    const downloads = Array.from({ length: c.n }, async () => {
      const res = await d.fetch(`/files/download?path=${encodeURIComponent(file)}`, {
        signal: AbortSignal.timeout(LIMIT_MS),
      })
      if (res.status !== 200) {
        await res.arrayBuffer()
        return { status: res.status, body: Buffer.alloc(0), cut: '', length: 0 }
      }
      const length = Number(res.headers.get('content-length'))
      // A slow reader: the answer waits in the kernel while the file changes.
      await Bun.sleep(c.delayMs)
      return { status: 200, length, ...(await readToEnd(res)) }
    })
    await after(c.delayMs % 20)
    if (change === 'truncate') truncateSync(file, size >> 1)
    else if (change === 'replace') {
      writeFileSync(`${file}.new`, version(2, 0, size))
      renameSync(`${file}.new`, file)
    } else if (change === 'delete') unlinkSync(file)
    else writeFileSync(file, version(1, size, size + 4096), { flag: 'a' })
    for (const r of await Promise.all(downloads)) {
      if (r.status === 404) continue
      if (r.status !== 200) {
        out.push({ kind: r.status >= 500 ? '5xx' : 'contract', detail: `download past the copy max: ${r.status}` })
        continue
      }
      // Whole or cut short, the bytes of one version: never zeros or a mix (core/socket-body.ts
      // reads the file through a buffer of its own; a cut is told by a reset, as it must be).
      const b = r.body
      const v1 = version(1, 0, b.length)
      const v2 = version(2, 0, b.length)
      if (!b.equals(v1) && !b.equals(v2))
        out.push({
          kind: 'contract',
          detail: `${change} during a download of ${size} bytes: ${b.length} bytes that are no version (a mix or zeros)`,
        })
      else if (b.length > r.length)
        out.push({ kind: 'contract', detail: `${change}: ${b.length} bytes past Content-Length ${r.length}` })
      else if (b.length < r.length && !r.cut)
        out.push({ kind: 'contract', detail: `${change}: ${b.length} of ${r.length} bytes, ended as if whole` })
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  return out
}

export const BOUNDS_RACES: Partial<Record<RaceName, Run>> = {
  'queue-at-bound-clients-leave': queueAtBound,
  'command-logs-total-churn': logTotal,
  'download-past-copy-max-vs-change': pastCopyMax,
  ...CONTEXT_AND_WALK_RACES,
}
