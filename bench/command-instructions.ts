/**
 * Instructions per short command, counted by callgrind (lib/callgrind.ts): the main thread's
 * count per `POST /command {"command":"true"}` read to the end of its stream, beside the same
 * spawn behind the least HTTP server (row 3e, lib/spawn-server.ts) and in the warm floor
 * process (rows 3c/3d, lib/spawn-floor.ts: `plain` is 3c's spawn, `owned` 3d's). Unlike seconds
 * the counts do not move with the machine's load. The shells themselves are not counted (each
 * is its own process after exec). All three are compiled with dist/execd's flags.
 *
 *   bun run bench/command-instructions.ts [commands=300] [warm=1500] [rounds=2]
 *   BENCH_SIDES=execd,server   only these sides (execd, server, floor-plain, floor-owned)
 *   BENCH_EXECD_BIN=…          the execd to count (default dist/execd)
 *   BENCH_EXECD_ARGS=…         serve options (default `--cgroups off`, below)
 *   BENCH_IDLE=1               also count each side idle as long as its commands took, and subtract
 *                              (the timers' share: each command is ~100× as long under valgrind)
 *   BENCH_PROFILE=1            also each side's biggest own costs per command by compiled function,
 *                              named by its jitdump (lib/callgrind-jit.ts, as request-instructions.ts)
 *
 * execd runs with `--cgroups off`: under valgrind (3.19, no clone3) Bun's spawn into a cgroup
 * leaf fails in the child, which exits 127. So the leaf's work is not in these counts: Bun's
 * check of the leaf before each spawn and the leaf's `cgroup.events` read after the exit, a
 * dozen system calls counted natively by command-syscalls.ts.
 */
import { join } from 'node:path'
import { callgrindDir, callgrindLauncher, countIdle, countRequests, SETTLE } from './lib/callgrind'
import { compileLikeExecd } from './lib/compile'
import { profileLines } from './lib/callgrind-jit'
import { requireCommands } from './lib/command'
import { EXECD_BIN, startExecd } from './lib/execd'
import { startLineChild } from './lib/line-child'
import { runThenClean, spawnTracked, stopProcess } from './lib/procs'
import { commandEnded, readEvents } from './lib/sse'

const arg = (i: number, fallback: number) => Number(process.argv[2 + i] ?? fallback)
const [commands, warm, rounds] = [arg(0, 300), arg(1, 1500), arg(2, 2)]
const ALL = ['execd', 'server', 'floor-plain', 'floor-owned']
const SIDES = process.env.BENCH_SIDES ? process.env.BENCH_SIDES.split(',') : ALL
const PROFILE = process.env.BENCH_PROFILE === '1'
const IDLE = process.env.BENCH_IDLE === '1'

interface Side {
  pid: number
  one(): Promise<void>
  stop(): Promise<void>
}

async function command(post: () => Promise<Response>): Promise<void> {
  const res = await post()
  if (res.status !== 200) throw new Error(`POST /command: ${res.status} ${await res.text()}`)
  const { events } = await readEvents(res, commandEnded)
  const last = events.at(-1)
  if (last?.type !== 'execution_complete') throw new Error(`POST /command ended with ${JSON.stringify(last)}`)
}

async function start(name: string, launcher: string[], bin: (source: string) => Promise<string>): Promise<Side> {
  if (name === 'execd') {
    const args = (process.env.BENCH_EXECD_ARGS ?? '--cgroups off').split(' ').filter(Boolean)
    const d = await startExecd({
      launcher,
      startWithinMs: 120_000,
      bin: process.env.BENCH_EXECD_BIN ?? EXECD_BIN,
      args,
    })
    await requireCommands(d)
    return { pid: d.pid, one: () => command(() => d.post('/command', { command: 'true' })), stop: d.stop }
  }
  if (name === 'server') {
    const proc = spawnTracked([...launcher, await bin('spawn-server.ts')], { stdout: 'pipe' })
    const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader()
    let out = ''
    while (!out.includes('\n')) {
      const { value, done } = await reader.read()
      if (done) throw new Error('spawn-server exited')
      out += new TextDecoder().decode(value)
    }
    reader.releaseLock()
    const url = `http://127.0.0.1:${Number(out.trim())}/command`
    const body = JSON.stringify({ command: 'true' })
    const headers = { 'content-type': 'application/json' }
    return {
      pid: proc.pid,
      one: () => command(() => fetch(url, { method: 'POST', body, headers })),
      stop: () => stopProcess(proc),
    }
  }
  const line = name === 'floor-owned' ? 'owned' : 'plain'
  const floor = startLineChild([...launcher, await bin('spawn-floor.ts')])
  return {
    pid: floor.pid,
    one: async () => {
      if (Number(await floor.ask(line)) < 0) throw new Error(`${name}: bash -c true failed`)
    },
    stop: floor.stop,
  }
}

await runThenClean(async () => {
  const dir = callgrindDir(PROFILE)
  const launcher = callgrindLauncher(dir, PROFILE ? ['--dump-instr=yes'] : [])
  const built = new Map<string, string>()
  const bin = async (source: string) => {
    if (!built.has(source))
      built.set(source, await compileLikeExecd(join(import.meta.dir, 'lib', source), dir, source.replace('.ts', '')))
    return built.get(source)!
  }
  const rows: string[] = []
  for (let round = 1; round <= rounds; round++) {
    for (const name of SIDES) {
      const side = await start(name, launcher, bin)
      for (let i = 0; i < warm; i++) await side.one()
      const c = await countRequests(dir, side.pid, commands, side.one)
      if (PROFILE)
        console.log(
          `round ${round} ${name}, own cost per command:\n${profileLines(dir, dir, side.pid, commands).join('\n')}`,
        )
      let row = `round ${round} ${name.padEnd(11)} main ${Math.round(c.main)} all ${Math.round(c.all)}  [${c.others}]`
      if (IDLE) {
        const idle = await countIdle(dir, side.pid, c.ms, commands)
        if (PROFILE)
          console.log(
            `round ${round} ${name} idle, per command:\n${profileLines(dir, dir, side.pid, commands, 15).join('\n')}`,
          )
        row += `  idle main ${Math.round(idle.main)} all ${Math.round(idle.all)}  net main ${Math.round(c.main - idle.main)} all ${Math.round(c.all - idle.all)}`
      }
      console.log(row)
      rows.push(row)
      await side.stop()
    }
  }
  console.log(`\ninstructions per command (callgrind, ${commands} counted after ${warm} warm + ${SETTLE}):`)
  for (const r of rows) console.log(r)
})
