/**
 * Contract-test harness: starts the compiled executable on a free port with a token, as a
 * user would, and reads its responses the way clients do (standard SSE parsing).
 */
import type { Subprocess } from 'bun'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { eachText } from './kit/each-text'

/**
 * The executable under test: `EXECD_BIN` runs every spec helper against another build (an old
 * one, to see a new test fail there); by default the one `make build` made.
 */
export const BIN = process.env.EXECD_BIN || join(import.meta.dir, '..', 'dist', 'execd')

/** `execd serve` on 127.0.0.1:`port`: what every spec's daemon is started with. */
export const serveArgv = (port: number, bin = BIN) => [bin, 'serve', '--port', String(port), '--host', '127.0.0.1']

/** The command that runs its arguments as PID 1 of a new PID namespace with its own /proc. */
export const NEW_PID_NAMESPACE = ['unshare', '--pid', '--fork', '--mount-proc']

export interface Daemon {
  url: string
  token: string
  proc: Subprocess<'ignore', 'pipe', 'pipe'>
  /** fetch with the token header set. */
  fetch(path: string, init?: RequestInit): Promise<Response>
  /** SIGTERM and wait; returns the exit code. */
  stop(): Promise<number>
  /** Everything the daemon wrote to stderr so far (its JSON logs). */
  logs(): string
}

export async function freePort(): Promise<number> {
  const s = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() })
  const port = s.port!
  s.stop(true)
  return port
}

/** Starts `dist/execd serve` with a random token; extra args/env per test. */
type DaemonOptions = {
  args?: string[]
  env?: Record<string, string>
  token?: string | null
  cwd?: string
  /** false: return at once, before the port is open (spec/start.test.ts sends the first request itself). */
  waitForPing?: boolean
  /** A command that runs the executable in its own process (`prlimit --nofile=…`: the same pid). */
  under?: string[]
  /** Another copy of the executable (spec/machine-runs-out.test.ts replaces it while it runs). */
  bin?: string
}

/**
 * A port `freePort` found free can be taken before execd binds it (a parallel test's client
 * socket, another run's daemon): execd then exits with "the port is in use", and the start is
 * tried again on another port rather than failing the test.
 */
export async function startDaemon(opts: DaemonOptions = {}): Promise<Daemon> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts)
    } catch (e) {
      if (attempt >= 3 || !(e instanceof PortTaken)) throw e
    }
  }
}

class PortTaken extends Error {}

async function startOnce(opts: DaemonOptions): Promise<Daemon> {
  // FUZZ_BIN: a stand-in for the executable (spec/fuzz/covered/execd-covered, from source).
  const bin = opts.bin ?? process.env.FUZZ_BIN ?? BIN
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run make build first`)
  const port = await freePort()
  const token = opts.token === null ? '' : (opts.token ?? `t-${crypto.randomUUID()}`)
  const args = [...(opts.under ?? []), ...serveArgv(port, bin), ...(opts.args ?? [])]
  if (token) args.push('--access-token', token)
  const proc = Bun.spawn(args, {
    cwd: opts.cwd,
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    env: { ...process.env, EXECD_ACCESS_TOKEN: '', ...opts.env },
  })
  let stderr = ''
  const stderrRead = eachText(proc.stderr, text => (stderr += text))
  const url = `http://127.0.0.1:${port}`
  const headers: Record<string, string> = token ? { 'X-EXECD-ACCESS-TOKEN': token } : {}
  const daemon: Daemon = {
    url,
    token,
    proc,
    fetch: (path, init = {}) =>
      fetch(url + path, { ...init, headers: { ...headers, ...(init.headers as Record<string, string>) } }),
    stop: async () => {
      proc.kill('SIGTERM')
      return await proc.exited
    },
    logs: () => stderr,
  }
  if (opts.waitForPing === false) return daemon
  const deadline = Date.now() + 15_000
  for (;;) {
    try {
      const res = await daemon.fetch('/ping')
      // Another daemon on the port answers too: ours must still be running.
      if (res.status === 200 && proc.exitCode === null) return daemon
    } catch {}
    if (proc.exitCode !== null) {
      await Promise.race([stderrRead, Bun.sleep(1000)])
      const Failure = /the port is in use/.test(stderr) ? PortTaken : Error
      throw new Failure(`execd exited early (${proc.exitCode}): ${stderr}`)
    }
    if (Date.now() > deadline) throw new Error(`execd did not answer /ping within 15 s: ${stderr}`)
    await Bun.sleep(25)
  }
}

export interface SseFrame {
  id?: string
  data: any
}

/** The texts of a stream's `stdout` events, one per line (a session run's events carry no newline). */
export const stdoutJoined = (frames: SseFrame[]) =>
  frames
    .filter(f => f.data.type === 'stdout')
    .map(f => f.data.text)
    .join('\n')

/** Reads a standard SSE body into frames (id + parsed JSON data), until it ends or `until` says stop. */
export async function readSse(res: Response, until?: (f: SseFrame, all: SseFrame[]) => boolean): Promise<SseFrame[]> {
  const frames: SseFrame[] = []
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  // The open frame's text is kept in pieces and only the new chunk is searched: a growing
  // string searched and copied on every chunk made a 33 MiB frame cost minutes of CPU.
  let pieces: string[] = []
  let endsInNewline = false
  const parse = (block: string): SseFrame => {
    const frame: SseFrame = { data: undefined }
    const data: string[] = []
    for (const line of block.split('\n')) {
      if (line.startsWith('id: ')) frame.id = line.slice(4)
      else if (line.startsWith('data: ')) data.push(line.slice(6))
    }
    frame.data = JSON.parse(data.join('\n'))
    return frame
  }
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      const text = decoder.decode(value, { stream: true })
      if (text === '') continue
      let start = 0
      const close = (end: number, next: number) => {
        const frame = parse(pieces.join('') + text.slice(start, end))
        pieces = []
        start = next
        frames.push(frame)
        return until?.(frame, frames) === true
      }
      // A blank line split across two chunks: the open frame's last '\n' is its end.
      if (endsInNewline && text.startsWith('\n')) {
        pieces.push(pieces.pop()?.slice(0, -1) ?? '')
        if (close(0, 1)) return frames
      }
      for (let idx = text.indexOf('\n\n', start); idx >= 0; idx = text.indexOf('\n\n', start)) {
        if (close(idx, idx + 2)) return frames
      }
      if (start < text.length) pieces.push(text.slice(start))
      endsInNewline = start < text.length && text.endsWith('\n')
    }
  } finally {
    await reader.cancel().catch(() => {})
  }
  return frames
}

/** Posts JSON and returns the response. */
export const postJson = (d: Daemon, path: string, body: unknown, init: RequestInit = {}) =>
  d.fetch(path, {
    method: 'POST',
    ...init,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...(init.headers as Record<string, string>) },
  })

/** Uploads one small file to `path` (`POST /files/upload`) → the answer's status, and its error's code and message. */
export async function uploadOne(d: Daemon, path: string): Promise<{ status: number; code?: string; message?: string }> {
  const form = new FormData()
  form.append('metadata', new Blob([JSON.stringify({ path })]), 'metadata')
  form.append('file', new Blob(['x']), 'x.txt')
  const res = await d.fetch('/files/upload', { method: 'POST', body: form })
  // A success answers JSON `null`.
  const body = ((await res.json().catch(() => null)) ?? {}) as { code?: string; message?: string }
  return { status: res.status, code: body.code, message: body.message }
}

/**
 * One `POST /files/upload` of `count` one-byte files, each in a new directory beneath `dir`
 * (`d0/f`, `d1/f`, …): each holds its directory open until the request ends (the uploads'
 * budget of open directories, a quarter of the fd limit).
 */
export function uploadInNewDirectories(d: Daemon, dir: string, count: number): Promise<Response> {
  const b = 'spec-new-directories'
  const parts: string[] = []
  for (let i = 0; i < count; i++) {
    parts.push(`--${b}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n{"path":"${dir}/d${i}/f"}\r\n`)
    parts.push(`--${b}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\nx\r\n`)
  }
  parts.push(`--${b}--\r\n`)
  return d.fetch('/files/upload', {
    method: 'POST',
    body: parts.join(''),
    headers: { 'content-type': `multipart/form-data; boundary=${b}` },
  })
}

export interface CliRun {
  code: number | null
  stdout: string
  stderr: string
}

export interface CliOptions {
  stdin?: string
  cwd?: string
  env?: Record<string, string>
}

const cliSpawn = (args: string[], opts: CliOptions) => ({
  cwd: opts.cwd,
  stdin: opts.stdin === undefined ? ('ignore' as const) : Buffer.from(opts.stdin),
  // A token in the test runner's environment must not leak into the verb under test.
  env: { ...process.env, EXECD_ACCESS_TOKEN: '', ...opts.env },
})

/** Runs `dist/execd <args>` to its end, as a user at a terminal would. */
export function runCliSync(args: string[], opts: CliOptions = {}): CliRun {
  const p = Bun.spawnSync([BIN, ...args], cliSpawn(args, opts))
  return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() }
}

/** `dist/execd <args>` started, its output piped: for a test that stops it midway (a signal). */
export const spawnCli = (args: string[], opts: CliOptions = {}) =>
  Bun.spawn([BIN, ...args], { ...cliSpawn(args, opts), stdout: 'pipe', stderr: 'pipe' })

/** The same without blocking the test's event loop (for verbs that talk to servers it runs). */
export async function runCli(args: string[], opts: CliOptions = {}): Promise<CliRun> {
  const p = spawnCli(args, opts)
  const [stdout, stderr, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ])
  return { code, stdout, stderr }
}

/** A process's resident memory now (VmRSS), in MiB. */
export const rssMiB = (pid: number): number =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024

/** Polls `check` until it holds; throws naming `what` after `limitMs`. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, limitMs = 15_000): Promise<void> {
  const deadline = Date.now() + limitMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await Bun.sleep(25)
  }
}

/**
 * The processes whose parent is `pid`: state (Z: a zombie nobody reaped) and command line. Not
 * execd's keeper (core/keeper.ts), which lives as long as execd: what a test asks about is what
 * execd runs for its clients (`keepersOf` finds that one).
 */
export const childrenOf = (pid: number) => allChildrenOf(pid).filter(c => !isKeeper(c))

/** Live keepers among `pid`'s children (one while execd has spawned something, none before). */
export const keepersOf = (pid: number) => allChildrenOf(pid).filter(c => isKeeper(c) && c.state !== 'Z')

const isKeeper = (c: { cmd: string }) => c.cmd === '/proc/self/exe __keeper'

function allChildrenOf(pid: number): { pid: number; state: string; cmd: string }[] {
  const out: { pid: number; state: string; cmd: string }[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1')
      const [state = '', ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (Number(ppid) !== pid) continue
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'latin1').replaceAll('\0', ' ').trim()
      out.push({ pid: Number(entry), state, cmd: cmd || stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) })
    } catch {}
  }
  return out
}

/** Whether this test may make a PID namespace (`unshare --pid --fork`: root, and a kernel that allows it). */
export const canUnshare =
  process.getuid?.() === 0 && Bun.spawnSync(['unshare', '--pid', '--fork', 'true']).exitCode === 0

/**
 * Live (non-zombie) pids whose command line, arguments joined by spaces, contains `text`; with
 * `parent`, only that process's children. Without it the whole machine: `text` must then be this
 * run's own (random, or spec/kit/own-pids.ts `ownMarker`), or the scan scoped there (`pidsUnder`).
 */
export function pidsWith(text: string, parent?: number): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (entry.charCodeAt(0) > 57) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1')
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (state === 'Z' || (parent !== undefined && Number(ppid) !== parent)) continue
      if (readFileSync(`/proc/${entry}/cmdline`, 'latin1').replaceAll('\0', ' ').includes(text))
        pids.push(Number(entry))
    } catch {}
  }
  return pids
}
