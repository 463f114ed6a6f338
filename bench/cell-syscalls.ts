/**
 * System calls per warm python cell (`x + 1` to execution_complete), execd beside row 1h's relay
 * floor (baselines/python-relay.ts; a javascript cell beside row 1j's) or another build:
 * `strace -c -f` on the server's threads and its interpreter, after both are warm. What execd
 * calls beyond the relay is execd's (or its driver's). Needs strace and the right to ptrace the
 * servers. Not run by `make bench`.
 *
 *   bun run bench/cell-syscalls.ts [cells=400] [warm=3000]
 *   BENCH_EXECD_BEFORE=/tmp/execd-old   another build instead of the relay
 *   BENCH_LANGUAGE=javascript           execd's cells in that language, beside that language's relay
 *                                       (row 1j's, baselines/js-relay.ts)
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { startPythonRelay } from './baselines/python-relay'
import { startJsRelay } from './baselines/js-relay'
import { createContext, relayClient, runCode } from './lib/code'
import { type Execd, startExecd } from './lib/execd'
import { makeTempDir, runThenClean, spawnTracked } from './lib/procs'
import { parseStraceSummary, printSyscallDifference } from './lib/strace-table'

const cells = Number(process.argv[2] ?? 400)
const warm = Number(process.argv[3] ?? 3000)
const language = process.env.BENCH_LANGUAGE ?? 'python'

interface Side {
  name: string
  pid: number
  cell(): Promise<unknown>
}

const childrenOf = (pid: number): string[] =>
  readdirSync(`/proc/${pid}/task`).flatMap(tid =>
    readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean),
  )

/** `cells` cells with strace -c -f on the server (all its threads) and its children; calls per cell. */
async function traced(s: Side, dir: string): Promise<Map<string, number>> {
  const file = join(dir, `${s.name}.strace`)
  const pids = [String(s.pid), ...childrenOf(s.pid)]
  const strace = spawnTracked(['strace', '-f', '-c', '-o', file, ...pids.flatMap(p => ['-p', p])], {
    stdout: 'ignore',
    stderr: 'pipe',
  })
  await Bun.sleep(500)
  for (let i = 0; i < cells; i++) await s.cell()
  strace.kill('SIGINT')
  await strace.exited
  const table = parseStraceSummary(readFileSync(file, 'utf8'))
  if (table.size === 0) throw new Error(`strace of ${s.name} counted nothing`)
  return new Map([...table].map(([k, v]) => [k, v.calls / cells]))
}

async function execdSide(name: string, bin?: string): Promise<Side> {
  const d: Execd = await startExecd(bin ? { bin } : {})
  const id = await createContext(d, language)
  await runCode(d, id, language, language === 'python' ? 'x = 1' : 'var x = 1')
  return { name, pid: d.pid, cell: () => runCode(d, id, language, 'x + 1') }
}

async function main(): Promise<void> {
  if (!Bun.which('strace')) throw new Error('strace is not installed')
  const dir = makeTempDir('cell-syscalls')
  const ours = await execdSide('execd')
  const before = process.env.BENCH_EXECD_BEFORE
  let other: Side
  if (before) other = await execdSide('before', before)
  else {
    // Each language beside its own relay (row 1h's, row 1j's).
    const js = language === 'javascript'
    const relay = await (js ? startJsRelay() : startPythonRelay())
    const client = relayClient(relay.url)
    other = { name: 'relay', pid: relay.pid, cell: () => runCode(client, 'context', language, 'x + 1') }
    await runCode(client, 'context', language, js ? 'var x = 1' : 'x = 1')
  }
  for (let i = 0; i < warm; i++) {
    await ours.cell()
    await other.cell()
  }
  const a = await traced(ours, dir)
  const b = await traced(other, dir)
  printSyscallDifference(
    `system calls per warm ${language} cell (${cells} cells after ${warm} warm each`,
    other.name,
    a,
    b,
  )
}

await runThenClean(main)
