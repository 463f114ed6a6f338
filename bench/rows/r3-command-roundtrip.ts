/**
 * Row 3: command round trip, `true` through `POST /command` to its terminal event, vs spawning
 * `bash -c true` directly — with its stdout and stderr piped and read to their end, as running
 * a command for its output takes (execd does the same); the pipeless spawn is shown beside it.
 * 3c is the posix_spawn floor: a warm process of its own spawning `bash -c true` and
 * waiting, timed inside that process (bench/lib/spawn-floor.ts); 3d the same process spawning
 * it as execd must (output piped and read, a session of its own): what is left of 3c's ratio
 * once the spawn's own shape is taken out is execd's.
 */
import { join } from 'node:path'
import { reps } from '../lib/config'
import { commandRoundTrip, requireCommands } from '../lib/command'
import { startExecd } from '../lib/execd'
import { startLineChild } from '../lib/line-child'
import { interleave, timed } from '../lib/measure'
import { figure, type RowResult } from '../lib/report'
import { type BenchRow, timeRatio } from '../lib/row'
import { summarize } from '../lib/stats'
import { cpuSeconds } from '../lib/usage'

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
    const askFloor = async (line: 'go' | 'owned') => {
      const ms = Number(await floor.ask(line))
      if (!(ms >= 0)) throw new Error(`spawn floor (${line}): bash -c true failed`)
      return ms
    }
    try {
      await requireCommands(d)
      // execd's own CPU per command (its threads, not the shells): what load moves least.
      // Counted once warm: its first commands compile the code they run.
      for (let i = 0; i < 30; i++) await commandRoundTrip(d)
      let commands = 0
      const cpu0 = cpuSeconds(d.pid).own
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
        ],
        { reps: reps(300, 30), warmup: 10, budgetMs: 40_000, minReps: 30 },
      )
      const cpuMs = ((cpuSeconds(d.pid).own - cpu0) * 1000) / commands
      const ours = summarize(samples.execd ?? [])
      const base = summarize(samples.spawn ?? [])
      const bare = summarize(samples.bare ?? [])
      const posix = summarize(samples.floor ?? [])
      const ownedSpawn = summarize(samples.owned ?? [])
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
          note: `execd used ${cpuMs.toFixed(2)} ms of CPU per command (its own threads, utime + stime over ${commands} warm round trips; the shells count as its children)`,
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
      ]
    } finally {
      await Promise.allSettled([floor.stop(), d.stop()])
    }
  },
} satisfies BenchRow
