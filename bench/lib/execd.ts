/**
 * Starts the compiled `dist/execd` on a free loopback port with a token, as a user would,
 * and tells which sections this build has (a missing route answers 404 "route not found").
 */
import type { Subprocess } from 'bun'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { freePort, spawnTracked, stopProcess } from './procs'
import { eachText } from '../../spec/kit/each-text'

/**
 * The build every bench starts: `EXECD_BIN` names another (an old one, for an A/B of two builds
 * with one variable), as the spec harness takes it; by default the one `make build` made.
 */
export const EXECD_BIN = process.env.EXECD_BIN || join(import.meta.dir, '..', '..', 'dist', 'execd')

export interface Execd {
  url: string
  pid: number
  proc: Subprocess<any, any, any>
  /** ms from spawn to the first 200 from /ping. */
  startMs: number
  headers: Record<string, string>
  fetch(path: string, init?: RequestInit): Promise<Response>
  post(path: string, body: unknown): Promise<Response>
  stop(): Promise<void>
  /** The last few KiB of the daemon's stderr (its logs), for error messages. */
  logs(): string
}

/**
 * The python the daemon's python runtime uses: EXECD_PYTHON as the Makefile exports it, else
 * Debian's /usr/bin/python3 — the interpreter the Jupyter and pipe baselines run, and not a
 * pyenv shim (a bash script that adds tens of ms to every start).
 */
function benchPython(): string {
  if (process.env.EXECD_PYTHON) return process.env.EXECD_PYTHON
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3'
}

export async function startExecd(
  opts: {
    env?: Record<string, string>
    args?: string[]
    bin?: string
    /** Put before the executable (a profiler: `valgrind --tool=callgrind …`); it keeps the pid. */
    launcher?: string[]
    /** How long the start may take to its first 200 from /ping (a profiler slows it). */
    startWithinMs?: number
    /** Every piece of the daemon's stderr as it comes (its logs, a runtime's own diagnostics). */
    onStderr?: (text: string) => void
  } = {},
): Promise<Execd> {
  const bin = opts.bin ?? EXECD_BIN
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run make build first`)
  const port = await freePort()
  const token = `bench-${crypto.randomUUID()}`
  const url = `http://127.0.0.1:${port}`
  const headers = { 'X-EXECD-ACCESS-TOKEN': token }
  const argv = [
    ...(opts.launcher ?? []),
    bin,
    'serve',
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--access-token',
    token,
    ...(opts.args ?? []),
  ]
  const t0 = performance.now()
  const proc = spawnTracked(argv, {
    env: { ...process.env, EXECD_ACCESS_TOKEN: '', EXECD_PYTHON: benchPython(), ...opts.env },
    stderr: 'pipe',
  })
  let stderr = ''
  void eachText(proc.stderr as ReadableStream<Uint8Array>, text => {
    opts.onStderr?.(text)
    stderr = (stderr + text).slice(-8192)
  })
  const doFetch = (path: string, init: RequestInit = {}) =>
    fetch(url + path, { ...init, headers: { ...headers, ...(init.headers as Record<string, string>) } })
  let startMs = NaN
  const withinMs = opts.startWithinMs ?? 15_000
  const deadline = t0 + withinMs
  for (;;) {
    const ok = await doFetch('/ping').then(
      r => r.status === 200,
      () => false,
    )
    if (ok) {
      startMs = performance.now() - t0
      break
    }
    if (proc.exitCode !== null) throw new Error(`execd exited early (${proc.exitCode}): ${stderr}`)
    if (performance.now() > deadline) {
      await stopProcess(proc)
      throw new Error(`execd did not answer /ping within ${withinMs / 1000} s: ${stderr}`)
    }
    await Bun.sleep(1)
  }
  return {
    url,
    pid: proc.pid,
    proc,
    startMs,
    headers,
    fetch: doFetch,
    post: (path, body) =>
      doFetch(path, {
        method: 'POST',
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
      }),
    stop: () => stopProcess(proc, 5000),
    logs: () => stderr,
  }
}

/** Thrown by a row when the build lacks what it measures; the runner reports it as skipped. */
export class Skip extends Error {}

/**
 * Whether `method path` is routed in this build. Any answer but Elysia's 404 "route not
 * found" (a 400 for a bad body included) means the section is there.
 */
export async function hasRoute(d: Execd, method: string, path: string, body?: unknown): Promise<boolean> {
  const res = await d.fetch(path, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
  })
  const text = await res.text()
  return !(res.status === 404 && text.includes('route not found'))
}

/** Throws Skip unless the route exists. */
export async function requireRoute(d: Execd, method: string, path: string, body?: unknown): Promise<void> {
  if (!(await hasRoute(d, method, path, body))) throw new Skip(`section not built (${method} ${path} → 404)`)
}
