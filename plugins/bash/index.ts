/**
 * The `bash` language runtime: a code context is one live bash (core/live-bash/), so
 * variables, functions and the cwd persist between executions. Output is passed through as
 * bash wrote it; a non-zero status of the cell is an `error` event, as for commands.
 */
import { bunWaitsFor } from '../../core/reaper'
import type { LanguageInfo, Runtime, RuntimeContext, StartOptions } from '../../core/plugin'
import { scrubSecrets } from '../../core/secrets'

async function bashVersion(path: string): Promise<string> {
  try {
    scrubSecrets() // a child, if not an owned one: nothing secret left in our /proc for it
    const probe = Bun.spawn([path, '--version'], { stdout: 'pipe', stderr: 'ignore' })
    bunWaitsFor(probe)
    const out = await new Response(probe.stdout).text()
    return `${path} (${out.split('\n')[0]})`
  } catch {
    return path
  }
}

export const bash: Runtime = {
  name: 'bash',
  async languages(): Promise<LanguageInfo[]> {
    const path = Bun.which('bash')
    if (!path) return [{ language: 'bash', available: false, detail: 'bash is not on PATH' }]
    return [{ language: 'bash', available: true, detail: await bashVersion(path) }]
  },
  async start(opts: StartOptions): Promise<RuntimeContext> {
    // Loaded with the first context, not with execd: serve's start does not wait for it.
    const [{ LiveBash }, { memoryFifoDir }, { heldByShell }, { BashContext }] = await Promise.all([
      import('../../core/live-bash'),
      import('../../core/live-bash/fifo-dir'),
      import('../../core/live-bash/code-file'),
      import('./context'),
    ])
    // Its input FIFOs on /dev/shm, as a session's (fifo-dir.ts): in TMPDIR, on ext4 here, each
    // cell's mkfifo, open and unlink held the event loop 30 µs at the median, 0.6-4 ms at p99.
    const fifos = memoryFifoDir('execd-bash-fifos')
    try {
      return new BashContext(
        new LiveBash({ cwd: opts.cwd, env: opts.env, fifoDir: fifos && heldByShell(fifos) }),
        fifos,
      )
    } catch (err) {
      fifos?.close()
      throw err
    }
  },
}
