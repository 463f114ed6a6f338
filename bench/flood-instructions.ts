/**
 * Instructions per MiB of row 4a's flood (1 KiB lines through `POST /command`), counted by
 * callgrind (lib/callgrind.ts) in execd's main thread and in all its threads, builds taking
 * turns. Unlike CPU time, the count does not follow the machine's load: under valgrind execd is
 * the slow side, so its reads come full whatever else runs, where on the loaded machine the
 * size of the reads (and with it the CPU per MiB) swings 2–3× from one flood to the next
 * (flood-cpu.ts). What it leaves out: the kernel's side of the system calls, and the time a
 * cache miss or a syscall takes. Not run by `make bench`.
 *
 *   BENCH_SETTLE=1 bun run bench/flood-instructions.ts [MiB=32] [rounds=2]   (one flood before counting)
 *   BENCH_EXECD_BEFORE=<binary>[:<binary>…]   other builds, counted in turns with dist/execd
 */
import { basename } from 'node:path'
import { callgrindLauncher, countRequests } from './lib/callgrind'
import { requireCommands } from './lib/command'
import { EXECD_BIN, startExecd } from './lib/execd'
import { makeTempDir, runThenClean } from './lib/procs'
import { drainCounting } from './lib/sse'
import { floodCommand } from './rows/r4-output-throughput'

const mib = Number(process.argv[2] ?? 32)
const rounds = Number(process.argv[3] ?? 2)
const command = floodCommand(mib * 1024 * 1024)
const builds = [EXECD_BIN, ...(process.env.BENCH_EXECD_BEFORE ?? '').split(':').filter(Boolean)]
const nameOf = (bin: string) => (bin === EXECD_BIN ? 'execd' : basename(bin))

await runThenClean(async () => {
  const dir = makeTempDir('callgrind')
  const counts = new Map<string, { main: number; all: number }[]>(builds.map(b => [nameOf(b), []]))
  for (let r = 0; r < rounds; r++)
    for (const bin of r % 2 ? [...builds].reverse() : builds) {
      // --cgroups off: under valgrind a spawn into a cgroup leaf fails in the child (command-instructions.ts)
      const d = await startExecd({
        bin,
        launcher: callgrindLauncher(dir),
        args: ['--cgroups', 'off'],
        startWithinMs: 120_000,
      })
      try {
        await requireCommands(d)
        const flood = async () => {
          const res = await d.post('/command', { command })
          const { bytes, tail } = await drainCounting(res)
          if (!tail.includes('"type":"execution_complete"') || bytes < mib << 20)
            throw new Error(`flood: ${bytes} bytes, ends …${tail.slice(-200)}`)
        }
        const c = await countRequests(dir, d.pid, 1, flood)
        counts.get(nameOf(bin))!.push({ main: c.main / mib, all: c.all / mib })
        const m = (c.main / mib / 1e6).toFixed(3)
        console.log(
          `${nameOf(bin).padEnd(14)} ${m} M instructions per MiB, main thread (all ${(c.all / mib / 1e6).toFixed(3)})`,
        )
      } finally {
        await d.stop()
      }
    }
  console.log(`\n${mib} MiB floods, ${rounds} rounds; M instructions per MiB, main thread / all threads`)
  for (const [name, cs] of counts)
    console.log(
      `${name.padEnd(14)} ${cs.map(c => `${(c.main / 1e6).toFixed(3)} / ${(c.all / 1e6).toFixed(3)}`).join(', ')}`,
    )
})
