/**
 * Row 7e: spawn → the first real operation answered (`POST /command {"command":"true"}` read to
 * the end of its stream, sent as the first request, retried only while the port is closed),
 * against the executable of an earlier commit measured the same way. execd listens before it
 * builds its routes (core/app.ts), so a faster /ping alone would hide what the first operation
 * pays; this row shows the trade. The earlier commit (BENCH_START_REF, default the last main
 * that built every route before listening) is built in the run from `git archive`, with its own
 * Makefile, beside this checkout's node_modules.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { freePort, makeTempDir, spawnTracked, stopProcess } from '../lib/procs'

const ROOT = join(import.meta.dir, '..', '..')
/** The last main whose /ping meant every route was built. */
export const START_REF = process.env.BENCH_START_REF || '276f9de'

/** Builds dist/execd of `ref`; its path, or why it could not be built. */
export function buildExecdAt(ref: string): { bin: string } | { missing: string } {
  const dir = makeTempDir('ref')
  const archive = spawnSync('sh', ['-c', `git -C "$0" archive "$1" | tar -x -C "$2"`, ROOT, ref, dir])
  if (archive.status !== 0) return { missing: `cannot check out ${ref}: ${archive.stderr.toString().trim()}` }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
  // Never its install step: `npm ci` through the symlink emptied this checkout's node_modules and
  // put the old lockfile's in (make remade it when the archive's package.json looked newer).
  const make = spawnSync('make', ['-C', dir, '-o', 'node_modules/.installed', 'build'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  const bin = join(dir, 'dist', 'execd')
  if (make.status !== 0 || !existsSync(bin))
    return { missing: `cannot build ${ref}: ${make.stderr.toString().slice(-300)}` }
  return { bin }
}

/** ms from spawn to the end of the first `POST /command true` stream. */
export async function firstOperationMs(bin: string): Promise<number> {
  const port = await freePort()
  const token = `bench-${crypto.randomUUID()}`
  const t0 = performance.now()
  const proc = spawnTracked([bin, 'serve', '--host', '127.0.0.1', '--port', String(port), '--access-token', token], {
    env: { ...process.env, EXECD_ACCESS_TOKEN: '' },
  })
  try {
    const deadline = t0 + 15_000
    for (;;) {
      let res: Response | undefined
      try {
        res = await fetch(`http://127.0.0.1:${port}/command`, {
          method: 'POST',
          headers: { 'X-EXECD-ACCESS-TOKEN': token, 'content-type': 'application/json' },
          body: '{"command":"true"}',
        })
      } catch {
        // Refused: the port is not open yet.
        if (proc.exitCode !== null) throw new Error(`execd exited early (${proc.exitCode})`)
        if (performance.now() > deadline) throw new Error(`${bin} did not open its port within 15 s`)
        await Bun.sleep(1)
        continue
      }
      const text = await res.text()
      if (res.status !== 200 || !text.includes('execution_complete')) {
        throw new Error(`first POST /command: ${res.status} ${text.slice(0, 200)}`)
      }
      return performance.now() - t0
    }
  } finally {
    await stopProcess(proc)
  }
}
