/**
 * System calls per short command, execd beside row 3e's least HTTP server
 * (bench/lib/spawn-server.ts, the same spawn behind `Bun.serve`, the same client): `strace -c`
 * attached to every thread of each server (not `-f`: the shells it starts are not counted, nor
 * threads started after the attach), over `POST /command {"command":"true"}` read to the end,
 * after both are warm. What execd calls beyond that server is execd's (or what it asks of Bun).
 * Needs strace and the right to ptrace the servers (root, or ptrace_scope 0). Not run by
 * `make bench`.
 *
 *   bun run bench/command-syscalls.ts [commands=300] [warm=1500]
 *   BENCH_EXECD_BEFORE=/tmp/execd-old   another build instead of the least server
 *   BENCH_OTHER=floor | floor-plain     instead: rows 3d/3c's warm floor process (lib/spawn-floor.ts)
 *   BENCH_FOLLOW=1                      strace -f: the shells too, from their fork (pre-exec steps,
 *                                       bash's own start — the same on both sides)
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Execd, startExecd } from './lib/execd'
import { requireCommands } from './lib/command'
import { startLineChild } from './lib/line-child'
import { leastClient, startLeastServer } from './lib/least-server'
import { makeTempDir, runThenClean, spawnTracked } from './lib/procs'
import { commandEnded, readEvents } from './lib/sse'
import { parseStraceSummary, printSyscallDifference } from './lib/strace-table'

const commands = Number(process.argv[2] ?? 300)
const warm = Number(process.argv[3] ?? 1500)

type Client = Pick<Execd, 'pid' | 'post'>

/** What a floor process's answer is read as: the same check as a command's stream. */
const FLOOR_DONE = 'id: 1\ndata: {"type":"execution_complete"}\n\n'

async function command(d: Client): Promise<void> {
  const res = await d.post('/command', { command: 'true' })
  if (res.status !== 200) throw new Error(`POST /command: ${res.status} ${await res.text()}`)
  const { events } = await readEvents(res, commandEnded)
  const last = events.at(-1)
  if (last?.type !== 'execution_complete') throw new Error(`POST /command ended with ${JSON.stringify(last)}`)
}

/** `commands` commands on `d` with strace -c on each of its threads; calls per command. */
async function traced(d: Client, dir: string, name: string): Promise<Map<string, number>> {
  const tids = readdirSync(`/proc/${d.pid}/task`)
  const file = join(dir, `${name}.strace`)
  const follow = process.env.BENCH_FOLLOW === '1' ? ['-f'] : []
  const strace = spawnTracked(['strace', ...follow, '-c', '-o', file, ...tids.flatMap(t => ['-p', t])], {
    stdout: 'ignore',
    stderr: 'pipe',
  })
  // strace says nothing when it is attached; give it a moment (it attaches in well under one).
  await Bun.sleep(500)
  for (let i = 0; i < commands; i++) await command(d)
  strace.kill('SIGINT')
  await strace.exited
  const table = parseStraceSummary(readFileSync(file, 'utf8'))
  if (table.size === 0)
    throw new Error(`strace of ${name} counted nothing: ${await new Response(strace.stderr as ReadableStream).text()}`)
  return new Map([...table].map(([k, v]) => [k, v.calls / commands]))
}

async function main(): Promise<void> {
  if (!Bun.which('strace')) throw new Error('strace is not installed (apt-get install strace)')
  const dir = makeTempDir('syscalls')
  const execd = await startExecd()
  await requireCommands(execd)
  let other: Client
  let otherName: string
  const before = process.env.BENCH_EXECD_BEFORE
  const floor = process.env.BENCH_OTHER
  if (floor === 'floor' || floor === 'floor-plain') {
    const child = startLineChild([process.execPath, join(import.meta.dir, 'lib', 'spawn-floor.ts')])
    const line = floor === 'floor' ? 'owned' : 'plain'
    other = {
      pid: child.pid,
      post: () => child.ask(line).then(ms => new Response(Number(ms) < 0 ? 'failed' : FLOOR_DONE)),
    }
    otherName = floor === 'floor' ? 'floor' : 'plain'
  } else if (before) {
    const d = await startExecd({ bin: before })
    await requireCommands(d)
    other = d
    otherName = 'before'
  } else {
    other = await leastClient(startLeastServer())
    otherName = 'server'
  }
  for (let i = 0; i < warm; i++) {
    await command(execd)
    await command(other)
  }
  const ours = await traced(execd, dir, 'execd')
  const theirs = await traced(other, dir, otherName)
  printSyscallDifference(
    `system calls per command (${commands} commands after ${warm} warm each`,
    otherName,
    ours,
    theirs,
  )
}

await runThenClean(main)
