/**
 * What reading one of a short command's output pipes costs execd when nothing is written to it:
 * a pipe made as a command's are (core/output-pipes.ts), its write end closed as after the
 * spawn, its read end read to its end as plugins/command/pump.ts reads it (`Bun.file(fd).stream()`
 * and its reader) — a `true` command pays this twice. Beside it, in turns: the stream made and
 * cancelled unread, and the pipe alone (made and closed). CPU of this process
 * (all threads: Bun reads on its loop and pool), per pipe. Hot paths round 45 found the read to
 * the end ~60 µs of CPU beyond the pipe itself. Not run by `make bench`.
 *
 *   bun run bench/empty-pipe-read.ts [rounds=3] [pipes per round=4000]
 */
import { loadavg } from 'node:os'
import { OutputPipes } from '../core/output-pipes'
import { percentile } from './lib/stats'

const rounds = Number(process.argv[2] ?? 3)
const perRound = Number(process.argv[3] ?? 4000)

/** A command's pipes with their write ends closed, as after the spawn. */
function spawnedPipes(): OutputPipes {
  const pipes = OutputPipes.make()
  if (!pipes) throw new Error('no pipes (bun:ffi or fds missing)')
  pipes.spawned()
  return pipes
}

async function readToEnd(stream: ReadableStream<Uint8Array>): Promise<void> {
  const reader = stream.getReader()
  while (!(await reader.read()).done) {}
}

const ways: Record<string, () => Promise<void>> = {
  'execd (stream, read to end)': async () => {
    const pipes = spawnedPipes()
    await readToEnd(pipes.stream('stdout'))
    pipes.close()
  },
  'stream made, cancelled': async () => {
    const pipes = spawnedPipes()
    await pipes.stream('stdout').cancel()
    pipes.close()
  },
  'pipe alone': async () => {
    spawnedPipes().close()
  },
}

const cpuUs = () => {
  const u = process.cpuUsage()
  return u.user + u.system
}

const results = new Map<string, number[]>(Object.keys(ways).map(k => [k, []]))
const names = Object.keys(ways)
for (const name of names) for (let i = 0; i < 1000; i++) await ways[name]!() // warm: the JIT settles
for (let r = 0; r < rounds; r++) {
  const turn = r % names.length
  for (const name of [...names.slice(turn), ...names.slice(0, turn)]) {
    const t = cpuUs()
    for (let i = 0; i < perRound; i++) await ways[name]!()
    results.get(name)!.push((cpuUs() - t) / perRound)
  }
}
console.log(`${rounds} rounds of ${perRound} pipes per way, in turns; load average ${loadavg()[0]!.toFixed(1)}`)
console.log('way                            CPU µs a pipe: median (min–max)')
for (const [name, us] of results) {
  const cells = [percentile(us, 0.5), Math.min(...us), Math.max(...us)].map(x => x.toFixed(1))
  console.log(`${name.padEnd(30)} ${cells[0]} (${cells[1]}–${cells[2]})`)
}
