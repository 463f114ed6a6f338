/**
 * Commands under load, against the compiled executable (not part of `make test`: minutes).
 *   bun run bench/commands.ts flood [GiB]   1 GiB of stdout through one SSE stream: peak RSS
 *   bun run bench/commands.ts many [N]      N sequential short commands: RSS and temp files
 *   bun run bench/commands.ts session-flood [GiB]   the same flood through a bash session run
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { postJson, startDaemon, type Daemon } from '../spec/harness'

const rssMiB = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) / 1024 : NaN
}

/** Reads a response body to its end; returns the bytes seen. */
async function drain(res: Response): Promise<number> {
  let n = 0
  const reader = res.body!.getReader()
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return n
    n += value.length
  }
}

async function flood(d: Daemon, gib: number, session = false): Promise<void> {
  const bytes = Math.round(gib * 1024 ** 3)
  let peak = 0
  const timer = setInterval(() => (peak = Math.max(peak, rssMiB(d.proc.pid))), 100)
  const before = rssMiB(d.proc.pid)
  const t0 = Date.now()
  const command = `head -c ${bytes} /dev/zero | tr '\\0' x | fold -w 1023`
  let path = '/command'
  if (session) path = `/session/${(await (await postJson(d, '/session', {})).json()).session_id}/run`
  const res = await postJson(d, path, { command })
  const wire = await drain(res)
  clearInterval(timer)
  const s = (Date.now() - t0) / 1000
  console.log(
    JSON.stringify({
      bench: session ? 'session-flood' : 'flood',
      stdout_bytes: bytes,
      sse_bytes: wire,
      seconds: s,
      MiB_per_s: +(bytes / 2 ** 20 / s).toFixed(1),
      rss_before_MiB: +before.toFixed(1),
      rss_peak_MiB: +peak.toFixed(1),
      rss_after_MiB: +rssMiB(d.proc.pid).toFixed(1),
    }),
  )
}

async function many(d: Daemon, n: number, tmp: string): Promise<void> {
  const samples: Record<number, number> = {}
  const t0 = Date.now()
  for (let i = 1; i <= n; i++) {
    await drain(await postJson(d, '/command', { command: 'true' }))
    if (i === 1000 || i % 2500 === 0 || i === n) samples[i] = +rssMiB(d.proc.pid).toFixed(1)
  }
  const files = readdirSync(tmp).flatMap(e => (e.startsWith('execd-commands-') ? readdirSync(join(tmp, e)) : [e]))
  console.log(
    JSON.stringify({
      bench: 'many',
      commands: n,
      seconds: (Date.now() - t0) / 1000,
      rss_MiB_at: samples,
      temp_files: files.length,
    }),
  )
}

const [mode = 'flood', arg] = process.argv.slice(2)
const tmp = mkdtempSync(join(tmpdir(), 'execd-bench-'))
const d = await startDaemon({ env: { TMPDIR: tmp }, args: ['--log-level', 'warn'] })
try {
  if (mode === 'flood') await flood(d, Number(arg ?? 1))
  else if (mode === 'session-flood') await flood(d, Number(arg ?? 1), true)
  else await many(d, Number(arg ?? 10_000), tmp)
} finally {
  await d.stop()
  const left = readdirSync(tmp)
  console.log(JSON.stringify({ temp_entries_after_shutdown: left.length }))
  rmSync(tmp, { recursive: true, force: true })
}
