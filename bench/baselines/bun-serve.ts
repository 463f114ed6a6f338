/**
 * Row 7's start-up floor: a minimal `Bun.serve` answering /ping, compiled with the same
 * flags as dist/execd (`bun build --compile --minify --bytecode --splitting`, and the start's
 * reluctant JIT, `--compile-jit-policy=10`, no `.env` or `bunfig.toml` read at start: Makefile), started and polled the way execd is
 * (spawn → first 200 from /ping, a 1 ms poll).
 */
import { join } from 'node:path'
import { compileLikeExecd } from '../lib/compile'
import { freePort, makeTempDir, spawnTracked, stopProcess } from '../lib/procs'

const SOURCE = `
const port = Number(process.argv[2])
Bun.serve({ hostname: '127.0.0.1', port, fetch: () => new Response('pong') })
`

/** Compiles the minimal server once per run; returns its path. */
export async function buildBunServe(): Promise<string> {
  const dir = makeTempDir('bunserve')
  await Bun.write(join(dir, 'serve.ts'), SOURCE)
  return compileLikeExecd(join(dir, 'serve.ts'), dir, 'serve')
}

/** Spawns the executable and resolves with ms from spawn to its first 200 from /ping. */
export async function bunServeStartMs(bin: string): Promise<number> {
  const server = await startBunServe(bin)
  await server.stop()
  return server.startMs
}

/** Spawns the executable and resolves at its first 200 from /ping, still running. */
export async function startBunServe(bin: string): Promise<{ pid: number; startMs: number; stop(): Promise<void> }> {
  const port = await freePort()
  const t0 = performance.now()
  const proc = spawnTracked([bin, String(port)])
  const stop = () => stopProcess(proc)
  try {
    const deadline = t0 + 15_000
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${port}/ping`).then(
        r => r.status === 200,
        () => false,
      )
      if (ok) return { pid: proc.pid, startMs: performance.now() - t0, stop }
      if (proc.exitCode !== null) throw new Error(`minimal Bun.serve exited early (${proc.exitCode})`)
      if (performance.now() > deadline) throw new Error('minimal Bun.serve did not answer within 15 s')
      await Bun.sleep(1)
    }
  } catch (err) {
    await stop()
    throw err
  }
}
