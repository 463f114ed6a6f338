/**
 * The collector's share of a short command: `POST /command {"command":"true"}` read to its end,
 * execd beside row 3e's least server (lib/spawn-server.ts, the same client), each run with
 * `BUN_JSC_logGC=1` so that JavaScriptCore writes a line per collection to its stderr: how many
 * collections per 1,000 commands, eden or full, the sum and the largest of their pauses (the
 * main thread stopped), and the "oversized" bytes (JSC counts large allocations apart; 256 KiB
 * each here) of the cycles that ended because the allocator asked (a collection the runtime's
 * timers start says nothing of them). The least server runs from source (`bun`), as
 * command-cpu.ts runs it. A pipe read through Bun's
 * stream allocates its 256 KiB buffer on the first read of each stream: both servers pay that
 * per command; what a collection costs then depends on the heap each keeps. Sides take turns.
 *
 *   bun run bench/command-gc.ts [rounds=2] [commands per round=1000] [warm=2000]
 *   EXECD_BIN=…   the execd to run (default dist/execd)
 */
import { join } from 'node:path'
import { requireCommands } from './lib/command'
import { startExecd } from './lib/execd'
import { spawnTracked, stopProcess } from './lib/procs'
import { commandEnded, readEvents } from './lib/sse'

const [rounds, perRound, warm] = [2, 1000, 2000].map((d, i) => Number(process.argv[2 + i] ?? d)) as [
  number,
  number,
  number,
]
const GC_LOG = { BUN_JSC_logGC: '1' }

interface Side {
  name: string
  post(): Promise<Response>
  /** The GC log written since the last call. */
  take(): string
  stop(): Promise<void>
}

async function one(side: Side): Promise<void> {
  const res = await side.post()
  if (res.status !== 200) throw new Error(`${side.name}: POST /command ${res.status} ${await res.text()}`)
  const { events } = await readEvents(res, commandEnded)
  if (events.at(-1)?.type !== 'execution_complete') throw new Error(`${side.name}: ${JSON.stringify(events.at(-1))}`)
}

/** Collects a child's stderr as text, taken in pieces. */
function logOf(stream: ReadableStream<Uint8Array>): () => string {
  let text = ''
  void (async () => {
    const decoder = new TextDecoder()
    const reader = stream.getReader()
    for (let r = await reader.read(); !r.done; r = await reader.read())
      text += decoder.decode(r.value, { stream: true })
  })()
  return () => {
    const out = text
    text = ''
    return out
  }
}

async function execdSide(): Promise<Side> {
  let log = ''
  const d = await startExecd({ env: GC_LOG, onStderr: t => (log += t) })
  await requireCommands(d)
  return {
    name: 'execd',
    post: () => d.post('/command', { command: 'true' }),
    take: () => {
      const out = log
      log = ''
      return out
    },
    stop: () => d.stop(),
  }
}

async function serverSide(): Promise<Side> {
  const proc = spawnTracked([process.execPath, join(import.meta.dir, 'lib', 'spawn-server.ts')], {
    env: { ...process.env, ...GC_LOG },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader()
  const { value } = await reader.read()
  const url = `http://127.0.0.1:${Number(new TextDecoder().decode(value).trim())}`
  const take = logOf(proc.stderr as ReadableStream<Uint8Array>)
  const body = JSON.stringify({ command: 'true' })
  return {
    name: 'server',
    post: () => fetch(`${url}/command`, { method: 'POST', body, headers: { 'content-type': 'application/json' } }),
    take,
    stop: () => stopProcess(proc),
  }
}

interface Count {
  gcs: number
  full: number
  pauseMs: number
  maxPauseMs: number
  oversizedMB: number
}

/** One round's collections from the log JSC wrote (`[GC<…>: START … => EdenCollection … p=1.2ms …]`). */
function parse(log: string): Count {
  const pauses = [...log.matchAll(/ p=([\d.]+)ms/g)].map(m => Number(m[1]))
  const oversized = [...log.matchAll(/oversized bytes: (\d+)/g)].map(m => Number(m[1]))
  return {
    gcs: (log.match(/: START /g) ?? []).length,
    full: (log.match(/=> FullCollection/g) ?? []).length,
    pauseMs: pauses.reduce((a, b) => a + b, 0),
    maxPauseMs: Math.max(0, ...pauses),
    oversizedMB: oversized.reduce((a, b) => a + b, 0) / 2 ** 20,
  }
}

const sides = [await execdSide(), await serverSide()]
try {
  for (const side of sides) for (let i = 0; i < warm; i++) await one(side)
  await Bun.sleep(200)
  for (const side of sides) side.take()
  const load = () => (require('node:os') as typeof import('node:os')).loadavg()[0]!.toFixed(1)
  console.log(`per ${perRound} commands after ${warm} warm; load average ${load()}`)
  console.log('round side     collections (full)  pauses ms (largest)  MiB allocated in the cycles the allocator ended')
  for (let r = 0; r < rounds; r++) {
    for (const side of r % 2 ? [...sides].reverse() : sides) {
      for (let i = 0; i < perRound; i++) await one(side)
      await Bun.sleep(200) // the last lines of the log
      const c = parse(side.take())
      console.log(
        `${String(r + 1).padEnd(5)} ${side.name.padEnd(8)} ${String(c.gcs).padStart(11)} (${c.full})` +
          `${c.pauseMs.toFixed(1).padStart(17)} (${c.maxPauseMs.toFixed(1)})${c.oversizedMB.toFixed(0).padStart(12)} of them oversized`,
      )
    }
  }
  console.log(`load average ${load()}`)
} finally {
  for (const side of sides) await side.stop()
}
