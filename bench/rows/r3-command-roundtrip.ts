/**
 * Row 3: command round trip, `true` through `POST /command` to its terminal event, vs spawning
 * `bash -c true` directly — with its stdout and stderr piped and read to their end, as running
 * a command for its output takes (execd does the same); the pipeless spawn is shown beside it.
 * 3c is the posix_spawn floor: a warm process of its own spawning `bash -c true` and
 * waiting, timed inside that process (bench/lib/spawn-floor.ts); 3d the same process spawning
 * it as execd must (output piped and read, a session of its own): what is left of 3c's ratio
 * once the spawn's own shape is taken out is execd's. 3e puts that same spawn behind the least
 * HTTP server (bench/lib/spawn-server.ts) reached by the same client: the spawn of a request is
 * slower than a loop's on a busy machine whoever makes it, and what is left is the daemon's.
 */
import { join } from 'node:path'
import { reps } from '../lib/config'
import { commandRoundTrip, requireCommands } from '../lib/command'
import { type Execd, startExecd } from '../lib/execd'
import { startLineChild } from '../lib/line-child'
import { leastClient, startLeastServer } from '../lib/least-server'
import { interleave, timed } from '../lib/measure'
import { figure, type RowResult } from '../lib/report'
import { type BenchRow, timeRatio } from '../lib/row'
import { summarize } from '../lib/stats'
import { jitCpuMs, threadCpuMs } from '../lib/usage'

async function spawnReadingOutput(): Promise<void> {
  const proc = Bun.spawn(['bash', '-c', 'true'], { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
  await Promise.all([new Response(proc.stdout).arrayBuffer(), new Response(proc.stderr).arrayBuffer(), proc.exited])
}

export default {
  id: '3',
  title: 'command round trip (true)',
  async run(): Promise<RowResult[]> {
    const d = await startExecd()
    const floor = startLineChild([process.execPath, join(import.meta.dir, '..', 'lib', 'spawn-floor.ts')])
    const server = startLeastServer()
    const askFloor = async (line: 'go' | 'owned') => {
      const ms = Number(await floor.ask(line))
      if (!(ms >= 0)) throw new Error(`spawn floor (${line}): bash -c true failed`)
      return ms
    }
    try {
      const minimal = (await leastClient(server, d.headers)) as Execd
      await requireCommands(d)
      // execd's own CPU per command (its threads, not the shells): what load moves least. Its
      // first commands compile the code they run; the row's are still early (30 before them),
      // so the note says how much of it the main thread and the JIT's threads took.
      for (let i = 0; i < 30; i++) await commandRoundTrip(d)
      let commands = 0
      const cpu0 = threadCpuMs(d.pid)
      const jit0 = jitCpuMs(d.pid)
      const samples = await interleave(
        [
          {
            name: 'execd',
            once: () => {
              commands++
              return commandRoundTrip(d)
            },
          },
          { name: 'spawn', once: () => timed(spawnReadingOutput) },
          {
            name: 'bare',
            once: () =>
              timed(() => Bun.spawn(['bash', '-c', 'true'], { stdio: ['ignore', 'ignore', 'ignore'] }).exited),
          },
          { name: 'floor', once: () => askFloor('go') },
          { name: 'owned', once: () => askFloor('owned') },
          { name: 'server', once: () => commandRoundTrip(minimal) },
        ],
        { reps: reps(300, 30), warmup: 10, budgetMs: 40_000, minReps: 30 },
      )
      const cpu1 = threadCpuMs(d.pid)
      const [cpuMs, mainMs, jitMs] = [cpu1.all - cpu0.all, cpu1.main - cpu0.main, jitCpuMs(d.pid) - jit0].map(
        ms => ms / commands,
      ) as [number, number, number]
      const ours = summarize(samples.execd ?? [])
      const base = summarize(samples.spawn ?? [])
      const bare = summarize(samples.bare ?? [])
      const posix = summarize(samples.floor ?? [])
      const ownedSpawn = summarize(samples.owned ?? [])
      const served = summarize(samples.server ?? [])
      return [
        {
          row: '3a',
          what: 'command round trip (true)',
          ours: figure(ours, 'ms'),
          baselineName: 'Bun.spawn bash -c true, output piped and read',
          baseline: figure(base, 'ms'),
          ...timeRatio(ours.median, base.median, 1.5),
        },
        {
          row: '3b',
          what: 'command round trip vs a pipeless spawn',
          ours: figure(ours, 'ms'),
          baselineName: 'Bun.spawn bash -c true, stdio ignored',
          baseline: figure(bare, 'ms'),
          ...timeRatio(ours.median, bare.median),
          pass: null,
        },
        {
          row: '3c',
          what: 'command round trip vs the posix_spawn floor',
          ours: figure(ours, 'ms'),
          baselineName: 'warm process: Bun.spawn bash -c true, stdio ignored, timed inside it',
          baseline: figure(posix, 'ms'),
          ...timeRatio(ours.median, posix.median, 1.3),
          note: `execd used ${cpuMs.toFixed(2)} ms of CPU per command (its own threads over its round trips 31–${30 + commands}, the shells not counted; of it the main thread ${mainMs.toFixed(2)}, the JIT compiling ${jitMs.toFixed(2)}: a fresh daemon's first commands compile their code, bench/command-fresh.ts)`,
        },
        {
          row: '3d',
          what: 'command round trip vs the same spawn as execd makes it',
          ours: figure(ours, 'ms'),
          baselineName:
            'warm process: Bun.spawn bash -c true, output piped and read, own session (setsid), timed inside it',
          baseline: figure(ownedSpawn, 'ms'),
          ...timeRatio(ours.median, ownedSpawn.median),
          pass: null,
          note: `that spawn alone is ${(ownedSpawn.median / posix.median).toFixed(2)}× 3c's floor in the same run`,
        },
        {
          row: '3e',
          what: 'command round trip vs the same spawn behind a minimal HTTP server',
          ours: figure(ours, 'ms'),
          baselineName:
            'bun Bun.serve: POST /command → the spawn of 3d → one SSE body at its exit (bench/lib/spawn-server.ts), same client',
          baseline: figure(served, 'ms'),
          ...timeRatio(ours.median, served.median),
          pass: null,
          note: `that server is ${(served.median / posix.median).toFixed(2)}× 3c's floor in the same run`,
        },
      ]
    } finally {
      await Promise.allSettled([floor.stop(), server.stop(), d.stop()])
    }
  },
} satisfies BenchRow
