/**
 * Every files route over what is no regular file on disk: procfs and sysfs files (whose stat
 * size is not their content), a fifo with no writer, a listening unix socket, character devices
 * (null, zero, random) made beside it, and a `sleep`'s /proc directory (its fds, tasks, memory).
 * A daemon of the race's own, without --root, so these can be named; what it may change is only
 * ever the race's own: the scratch directory and the sleep's /proc entries (never execd's own,
 * never /sys). Each answer is judged (answered within its bound, no 5xx, JSON errors); a
 * download's body is as long as its Content-Length says, a Range answer's as its Content-Range
 * says; the daemon's TMPDIR (where a pseudo-file is copied) is empty afterwards.
 */
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Daemon, startDaemon } from '../harness'
import type { Violation } from './check'
import { marker } from './leftovers'
import type { RaceCase, RaceName } from './races'
import { LIMIT_MS } from './races-kit'
import { blankReply, judge, type Reply } from './stream'
import type { World } from './world'

/** Read anywhere: never consumed by reading (/proc/kmsg is), never huge (/proc/kcore). */
const READ_FILES = [
  '/proc/cpuinfo',
  '/proc/self/status',
  '/proc/self/maps',
  '/proc/self/mem',
  '/proc/self/pagemap',
  '/proc/self/auxv',
  '/proc/self/net/tcp',
  '/proc/kallsyms',
  '/proc/sys/kernel/hostname',
  '/proc/self/attr/current',
  '/sys/devices/system/cpu/online',
  '/sys/kernel/mm/transparent_hugepage/enabled',
  '/sys/fs/cgroup/memory/memory.limit_in_bytes',
  '/sys/fs/cgroup/unified/cgroup.controllers',
  '/sys/kernel/uevent_helper',
  '/dev/null',
  '/dev/zero',
  '/dev/urandom',
  '/dev/tty',
]
const READ_DIRS = ['/proc/self/fd', '/proc/self/task', '/sys/kernel/mm', '/sys/fs/cgroup', '/dev', '/proc/sys/kernel']
/**
 * The sleep's /proc entries that are files of procfs itself, relative to /proc/<pid>: what the
 * routes that change things may be sent to. Never its links (fd/N, cwd, exe): a chmod, an
 * upload or a replace follows a link to what it names, and those name files outside the race (a
 * first version of this race sent chmod 600 through exe to /usr/bin/sleep and through cwd to the
 * checkout it ran in, for a few minutes; the modes were put back by hand).
 */
const SLEEP_ENTRIES = ['comm', 'oom_score_adj', 'status', 'environ', 'mem', 'attr/current', 'stat', 'maps']
/** Its links, for the routes that only read: each names the race's own scratch, a pipe, or sleep. */
const SLEEP_LINKS = ['fd/0', 'fd/1', 'cwd', 'exe']
const SCRATCH = ['fifo', 'sock', 'null', 'zero', 'random', 'plain']
const ROUTES = ['info', 'list', 'download', 'head', 'range', 'search', 'replace', 'upload', 'chmod', 'move', 'delete']
const RANGES = ['bytes=0-9', 'bytes=-5', 'bytes=100-', 'bytes=0-0,5-6', 'bytes=999999999-', 'bytes=4096-8191']

let daemon: Promise<Daemon> | undefined
/** The race's own tree (not the world's TMPDIR, which other races take away): copies and scratch. */
let base: string | undefined
let copies: string | undefined
const pseudoDaemon = (): Promise<Daemon> => {
  base ??= mkdtempSync(join(tmpdir(), 'execd-fuzz-pseudo-'))
  copies ??= mkdtempSync(join(base, 'copies-'))
  return (daemon ??= startDaemon({
    args: ['--python-spare', '0', '--log-level', 'warn'],
    env: { TMPDIR: copies },
  }))
}

/** The daemon, once started: the quiescence check asks it too. */
export const pseudoDaemonStarted = (): Promise<Daemon | undefined> =>
  daemon?.catch(() => undefined) ?? Promise.resolve(undefined)

/** Stops the race's daemon (main.ts and the suite call it at their end). */
export async function stopPseudoDaemon(): Promise<void> {
  const d = await daemon?.catch(() => undefined)
  daemon = undefined
  if (d && d.proc.exitCode === null) await d.stop()
  if (base) rmSync(base, { recursive: true, force: true })
  base = copies = undefined
}

const q = encodeURIComponent

async function request(
  d: Daemon,
  label: string,
  method: string,
  path: string,
  init: RequestInit = {},
): Promise<Reply & { body: Buffer }> {
  const t0 = performance.now()
  const reply: Reply & { body: Buffer } = { ...blankReply(label), body: Buffer.alloc(0) }
  const signal = AbortSignal.timeout(LIMIT_MS)
  try {
    const res = await d.fetch(path, { method, signal, ...init })
    reply.status = res.status
    reply.headers = res.headers
    reply.body = Buffer.from(await res.arrayBuffer())
    reply.text = reply.body.toString('utf8', 0, Math.min(reply.body.length, 4000))
  } catch (err) {
    reply.outcome = signal.aborted ? 'timeout' : 'closed'
    reply.text = String(err).slice(0, 200)
  }
  reply.ms = performance.now() - t0
  return reply
}

function multipart(path: string): { body: string; type: string } {
  const b = `fzpseudo${Math.random().toString(16).slice(2)}`
  const head = `--${b}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n${JSON.stringify({ path })}\r\n--${b}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\n`
  return { body: `${head}uploaded\n\r\n--${b}--\r\n`, type: `multipart/form-data; boundary=${b}` }
}

/** Whether a download's body agrees with its headers. */
function bodyAgrees(r: Reply & { body: Buffer }, method: string): string | null {
  if (r.status !== 200 && r.status !== 206) return null
  const length = r.headers.get('content-length')
  if (method === 'HEAD') return null
  if (length !== null && Number(length) !== r.body.length)
    return `Content-Length ${length} over a body of ${r.body.length} bytes`
  const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(r.headers.get('content-range') ?? '')
  if (r.status === 206 && range && Number(range[2]) - Number(range[1]) + 1 !== r.body.length)
    return `Content-Range ${r.headers.get('content-range')} over a body of ${r.body.length} bytes`
  return null
}

export const PSEUDO_RACES: Partial<Record<RaceName, (c: RaceCase, w: World) => Promise<Violation[]>>> = {
  /**
   * One op per entry of c.ops, each a files route over a pseudo target picked by the case, all
   * in flight at once (delayMs apart).
   */
  'pseudo-files': async c => {
    const d = await pseudoDaemon()
    const m = marker()
    const scratch = mkdtempSync(join(base!, 'scratch-'))
    // Its cwd the scratch directory and its stdio pipes: what its links name is the race's own.
    const sleeper = Bun.spawn(['/bin/sleep', m], { cwd: scratch, stdio: ['pipe', 'pipe', 'pipe'] })
    const listener = Bun.listen({ unix: join(scratch, 'sock'), socket: { data() {} } })
    Bun.spawnSync(['/usr/bin/mkfifo', join(scratch, 'fifo')])
    for (const [name, minor] of [
      ['null', '3'],
      ['zero', '5'],
      ['random', '8'],
    ] as const)
      Bun.spawnSync(['/usr/bin/mknod', join(scratch, name), 'c', '1', minor])
    writeFileSync(join(scratch, 'plain'), 'a plain file\n')
    mkdirSync(join(scratch, 'moved'))
    const changeable = [...SCRATCH.map(n => join(scratch, n)), ...SLEEP_ENTRIES.map(e => `/proc/${sleeper.pid}/${e}`)]
    const readable = [...READ_FILES, ...changeable, ...SLEEP_LINKS.map(e => `/proc/${sleeper.pid}/${e}`)]
    const dirs = [...READ_DIRS, scratch, `/proc/${sleeper.pid}`, `/proc/${sleeper.pid}/fd`]
    const pick = <T>(list: readonly T[], i: number): T => list[(i * 7 + c.kib + c.delayMs) % list.length]!
    const out: Violation[] = []
    const one = async (i: number): Promise<Violation[]> => {
      await Bun.sleep(i * Math.min(c.delayMs, 50))
      const route = ROUTES[(c.ops[i]!.length * 3 + i + c.n) % ROUTES.length]!
      const file = ['replace', 'upload', 'chmod', 'move', 'delete'].includes(route)
        ? pick(changeable, i)
        : pick(readable, i)
      const dir = pick(dirs, i)
      // What a route that changes things is sent to is never a link (see SLEEP_ENTRIES).
      if (changeable.includes(file) && lstatSync(file, { throwIfNoEntry: false })?.isSymbolicLink())
        return [{ kind: 'escape', detail: `pseudo-files: ${file} is a link: not sent` }]
      const label = `${route} ${['list', 'search'].includes(route) ? dir : file}`
      let r: Reply & { body: Buffer }
      let method = 'GET'
      switch (route) {
        case 'info':
          r = await request(d, `GET /files/info (${label})`, 'GET', `/files/info?path=${q(file)}`)
          break
        case 'list':
          r = await request(
            d,
            `GET /directories/list (${label})`,
            'GET',
            `/directories/list?path=${q(dir)}&depth=${1 + (i % 2)}`,
          )
          break
        case 'download':
        case 'head':
        case 'range': {
          method = route === 'head' ? 'HEAD' : 'GET'
          const headers: Record<string, string> = route === 'range' ? { range: pick(RANGES, i) } : {}
          r = await request(
            d,
            `${method} /files/download (${label} ${headers.range ?? ''})`,
            method,
            `/files/download?path=${q(file)}`,
            { headers },
          )
          break
        }
        case 'search':
          r = await request(
            d,
            `GET /files/search (${label})`,
            'GET',
            `/files/search?path=${q(dir)}&pattern=${q(pick(['*', 'st*', '**/comm', '{fifo,sock}'], i))}`,
          )
          break
        case 'replace':
          r = await request(d, `POST /files/replace (${label})`, 'POST', '/files/replace', {
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ [file]: { old: 'a', new: 'b' } }),
          })
          break
        case 'upload': {
          const { body, type } = multipart(file)
          r = await request(d, `POST /files/upload (${label})`, 'POST', '/files/upload', {
            headers: { 'content-type': type },
            body,
          })
          break
        }
        case 'chmod':
          r = await request(d, `POST /files/permissions (${label})`, 'POST', '/files/permissions', {
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ [file]: { mode: 600 } }),
          })
          break
        case 'move':
          r = await request(d, `POST /files/mv (${label})`, 'POST', '/files/mv', {
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify([{ src: file, dest: join(scratch, 'moved', `m${i}`) }]),
          })
          break
        default:
          r = await request(d, `DELETE /files (${label})`, 'DELETE', `/files?path=${q(file)}`)
      }
      // EPERM (procfs refuses a chmod or an unlink even to root) is a 500 by design
      // (plugins/files/errors.ts: it is also execd's own want of a capability).
      // An EIO is the file's own (/proc/self/mem at an unmapped offset): a 500, as the reference's.
      const why =
        method === 'HEAD' && r.status === 500
          ? (await request(d, 'GET of a HEAD answered 500', 'GET', `/files/download?path=${q(file)}`)).text
          : r.text
      const allowed = /operation not permitted|input\/output error/.test(why) ? [500] : []
      // A HEAD's error has no body to judge: its Content-Type says JSON.
      const v =
        method === 'HEAD' && r.status >= 400
          ? judge({ ...r, status: r.status < 500 || allowed.length ? 200 : r.status }).concat(
              /json/.test(r.headers.get('content-type') ?? '')
                ? []
                : [
                    {
                      kind: 'error-shape',
                      detail: `${r.label}: ${r.status} with Content-Type ${r.headers.get('content-type')}`,
                    },
                  ],
            )
          : judge(r, undefined, allowed)
      const disagree = bodyAgrees(r, method)
      if (disagree) v.push({ kind: 'contract', detail: `${r.label}: ${disagree}` })
      return v
    }
    try {
      for (const v of await Promise.all(c.ops.map((_, i) => one(i)))) out.push(...v)
    } finally {
      sleeper.kill('SIGKILL')
      await sleeper.exited
      listener.stop(true)
      rmSync(scratch, { recursive: true, force: true })
    }
    if (d.proc.exitCode !== null) {
      daemon = undefined
      out.push({ kind: 'crash', detail: `pseudo-files: the daemon exited ${d.proc.exitCode}: ${d.logs().slice(-400)}` })
    }
    // The daemon's staging journal (execd-staged-<pid>-*) is its own for its life: empty once
    // every request has been answered.
    const left = copies
      ? readdirSync(copies).flatMap(n =>
          n.startsWith('execd-staged-')
            ? readdirSync(join(copies!, n))
                .filter(e => e !== '.owner.sock')
                .map(e => `${n}/${e}`)
            : [n],
        )
      : []
    if (left.length)
      out.push({
        kind: 'stray-temp',
        detail: `pseudo-files: left in the daemon's TMPDIR: ${left.slice(0, 5).join(', ')}`,
      })
    return out
  },
}
