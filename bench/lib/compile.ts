/**
 * The baselines a row sets beside execd (a bare server, a relay, a canned cell) are compiled as
 * `make build` compiles dist/execd (Makefile), so what a row compares is the work, not the build:
 * the same bytecode, the same reluctant JIT at start, no `.env` or `bunfig.toml` read.
 */
import { join } from 'node:path'
import { freePort, makeTempDir, spawnTracked, stopProcess } from './procs'

const BUN = join(import.meta.dir, '..', '..', 'node_modules', '.bin', 'bun')

export const EXECD_BUILD_FLAGS = [
  '--compile',
  '--minify',
  '--bytecode',
  '--format=esm',
  '--splitting',
  '--compile-jit-policy=10',
  '--no-compile-autoload-dotenv',
  '--no-compile-autoload-bunfig',
]

/** `source` compiled into `dir/name` with dist/execd's flags; the executable's path. */
export async function compileLikeExecd(source: string, dir: string, name: string): Promise<string> {
  const bin = join(dir, name)
  const b = Bun.spawn([BUN, 'build', source, ...EXECD_BUILD_FLAGS, '--outfile', bin], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  if ((await b.exited) !== 0) throw new Error(`bun build ${source}: ${await new Response(b.stderr).text()}`)
  return bin
}

/** A baseline server compiled and started: its address, its pid (a profiler's target), its stop. */
export interface CompiledServer {
  url: string
  pid: number
  stop(): Promise<void>
}

/**
 * Writes `files` into a temp dir of `what`'s, compiles the first like execd, starts it as
 * `launcher… bin port args(dir)…` (a profiler may go before it) and resolves once GET /ping
 * answers 200.
 */
export async function startCompiled(
  what: string,
  files: Record<string, string>,
  args: (dir: string) => string[] = () => [],
  { launcher = [] as string[], startWithinMs = 15_000 } = {},
): Promise<CompiledServer> {
  const dir = makeTempDir(what.replace(/\W+/g, ''))
  for (const [name, text] of Object.entries(files)) await Bun.write(join(dir, name), text)
  const entry = Object.keys(files)[0]!
  const bin = await compileLikeExecd(join(dir, entry), dir, entry.replace(/\.[jt]s$/, ''))
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const proc = spawnTracked([...launcher, bin, String(port), ...args(dir)], { group: true })
  const deadline = performance.now() + startWithinMs
  for (;;) {
    const ok = await fetch(`${url}/ping`).then(
      r => r.status === 200,
      () => false,
    )
    if (ok) return { url, pid: proc.pid, stop: () => stopProcess(proc) }
    if (proc.exitCode !== null) throw new Error(`${what} exited early (${proc.exitCode})`)
    if (performance.now() > deadline) throw new Error(`${what} did not answer within ${startWithinMs / 1000} s`)
    await Bun.sleep(5)
  }
}
