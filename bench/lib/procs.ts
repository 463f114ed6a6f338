/**
 * Every process the bench starts (execd, baselines) is registered here and stopped at the
 * end of its row, and again on exit or Ctrl-C, so a run never leaves anything behind.
 */
import type { Subprocess } from 'bun'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

interface Owned {
  proc: Subprocess<any, any, any>
  /** Started with setsid: signal the whole group. */
  group: boolean
}

const owned = new Set<Owned>()
const grouped = new WeakSet<Subprocess<any, any, any>>()
const tempDirs = new Set<string>()

/** Bun.spawn, registered for cleanup. `group` puts it in its own process group. */
export function spawnTracked(
  argv: string[],
  opts: {
    env?: Record<string, string | undefined>
    cwd?: string
    group?: boolean
    stdin?: 'pipe' | 'ignore'
    stdout?: 'pipe' | 'ignore' | number
    stderr?: 'pipe' | 'ignore'
  } = {},
): Subprocess<any, any, any> {
  const proc = Bun.spawn(argv, {
    env: (opts.env ?? process.env) as Record<string, string>,
    cwd: opts.cwd,
    stdin: opts.stdin ?? 'ignore',
    stdout: opts.stdout ?? 'ignore',
    stderr: opts.stderr ?? 'ignore',
    detached: opts.group ?? false,
  })
  const entry = { proc, group: opts.group ?? false }
  owned.add(entry)
  if (entry.group) grouped.add(proc)
  void proc.exited.then(() => owned.delete(entry))
  return proc
}

/**
 * A server that prints its port on its first line of stdout once listening (bench/lib's
 * door-server.ts, ping-server.ts), started tracked; resolves with its port.
 */
export async function spawnPortPrinter(
  argv: string[],
  env: Record<string, string | undefined>,
): Promise<{ proc: Subprocess<any, any, any>; port: number }> {
  const proc = spawnTracked(argv, { stdout: 'pipe', env })
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader()
  let out = ''
  while (!out.includes('\n')) {
    const { value, done } = await reader.read()
    if (done) throw new Error(`${argv.join(' ')} exited before printing its port`)
    out += new TextDecoder().decode(value)
  }
  reader.releaseLock()
  return { proc, port: Number(out.trim()) }
}

function signal(entry: Owned, sig: NodeJS.Signals): void {
  try {
    if (entry.group) process.kill(-entry.proc.pid, sig)
    else entry.proc.kill(sig)
  } catch {}
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
export async function stopProcess(proc: Subprocess<any, any, any>, graceMs = 3000): Promise<void> {
  const entry = { proc, group: grouped.has(proc) }
  if (proc.exitCode !== null || proc.signalCode !== null) {
    if (entry.group) signal(entry, 'SIGKILL') // stragglers left in the group
    return
  }
  signal(entry, 'SIGTERM')
  const timer = setTimeout(() => signal(entry, 'SIGKILL'), graceMs)
  await proc.exited
  clearTimeout(timer)
  if (entry.group) signal(entry, 'SIGKILL')
}

/** Kills any process whose command line mentions `marker` (e.g. a baseline's temp dir). */
export function killByMarker(marker: string): number {
  let killed = 0
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8')
      if (cmdline.includes(marker)) {
        process.kill(Number(name), 'SIGKILL')
        killed++
      }
    } catch {}
  }
  return killed
}

export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `execd-bench-${prefix}-`))
  tempDirs.add(dir)
  return dir
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true })
  tempDirs.delete(dir)
}

/** Stops everything still running and removes temp dirs; safe to call twice. */
export async function cleanupAll(): Promise<void> {
  await Promise.all([...owned].map(e => stopProcess(e.proc, 1000)))
  for (const dir of tempDirs) killByMarker(dir)
  for (const dir of [...tempDirs]) removeTempDir(dir)
}

/**
 * Runs a side benchmark's `main` to its end, then stops what it started; a Ctrl-C or SIGTERM
 * stops it too, so nothing it started outlives it.
 */
export async function runThenClean(main: () => Promise<void>): Promise<void> {
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.on(sig, () => void cleanupAll().finally(() => process.exit(130)))
  try {
    await main()
  } finally {
    await cleanupAll()
  }
}

export async function freePort(): Promise<number> {
  const s = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() })
  const port = s.port!
  s.stop(true)
  return port
}

/** Polls `probe` every `everyMs` until it returns true; throws after `timeoutMs`. */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
  everyMs = 5,
): Promise<void> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    if (await probe().catch(() => false)) return
    if (performance.now() > deadline) throw new Error(`${what}: not ready within ${timeoutMs} ms`)
    await Bun.sleep(everyMs)
  }
}

/** Whether an executable can be found (absolute path or on PATH). */
export function hasExecutable(name: string): boolean {
  return name.startsWith('/') ? Bun.file(name).size > 0 : Bun.which(name) !== null
}
