/**
 * The start counted in instructions: callgrind's count of the main thread from exec to its first
 * `listen()` (`--dump-before=listen`), for each build and for row 7d's minimal compiled
 * `Bun.serve` (baselines/bun-serve.ts), taking turns. JavaScriptCore's on-demand threads are off
 * (the three options core/threads.ts sets under a process limit): with them on, the main thread's
 * count moved 16.4–29.4 M between starts of one build (its waits on the compiler and collector
 * threads), with them off 14.90–14.91 M, so a change of 0.1 M shows. That also skips the thread
 * check's reads (the options are set), which the count therefore leaves out. Not run by `make bench`.
 *
 *   bun run bench/start-instructions.ts [rounds=3]
 *   BENCH_BUILDS='main=/tmp/execd-old,new=dist/execd'   builds (default dist/execd)
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { buildBunServe } from './baselines/bun-serve'
import { EXECD_BIN } from './lib/execd'
import { freePort, hasExecutable, makeTempDir, runThenClean, spawnTracked, stopProcess, waitFor } from './lib/procs'

const rounds = Number(process.argv[2] ?? 3)

const QUIET_JSC = { BUN_JSC_useConcurrentJIT: '0', BUN_JSC_useConcurrentGC: '0', BUN_JSC_numberOfGCMarkers: '1' }

/** Main-thread instructions from exec to the first listen() of `argv(port)`, under callgrind. */
async function toListen(argv: (port: number) => string[]): Promise<number> {
  const dir = makeTempDir('start-cg')
  const port = await freePort()
  const proc = spawnTracked(
    [
      'valgrind',
      '--tool=callgrind',
      '--separate-threads=yes',
      '--dump-before=listen',
      `--callgrind-out-file=${join(dir, 'cg.%p')}`,
      ...argv(port),
    ],
    { env: { ...process.env, ...QUIET_JSC }, group: true },
  )
  try {
    const ping = () => fetch(`http://127.0.0.1:${port}/ping`).then(r => r.ok)
    await waitFor('the server under callgrind', ping, 120_000, 100)
  } finally {
    await stopProcess(proc)
  }
  // Part 1 (up to the first listen) of thread 1: cg.<pid>.1-01.
  const part = readdirSync(dir).find(f => /^cg\.\d+\.1-01$/.test(f))
  if (!part) throw new Error(`no callgrind part before listen in ${dir}`)
  const summary = /^summary:\s+(\d+)/m.exec(readFileSync(join(dir, part), 'utf8'))?.[1]
  if (!summary) throw new Error(`no summary in ${part}`)
  return Number(summary)
}

async function main(): Promise<void> {
  if (!hasExecutable('valgrind')) throw new Error('needs valgrind')
  const bare = await buildBunServe()
  const builds = (process.env.BENCH_BUILDS ?? `execd=${EXECD_BIN}`).split(',').map(spec => {
    const [name, bin] = spec.split('=') as [string, string]
    return { name, argv: (port: number) => [bin, 'serve', '--port', String(port)] }
  })
  const sides = [{ name: 'bunserve', argv: (port: number) => [bare, String(port)] }, ...builds]
  const counts = new Map(sides.map(s => [s.name, [] as number[]]))
  const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ')[0]
  for (let r = 0; r < rounds; r++) {
    const line: string[] = []
    for (const s of [...sides.slice(r % sides.length), ...sides.slice(0, r % sides.length)]) {
      const n = await toListen(s.argv)
      counts.get(s.name)!.push(n)
      line.push(`${s.name} ${(n / 1e6).toFixed(3)} M`)
    }
    console.log(`${line.join(' | ')}   (load ${load()})`)
  }
  for (const [name, xs] of counts)
    console.log(`${name.padEnd(10)} ${xs.map(x => (x / 1e6).toFixed(3)).join(', ')} M instructions to listen`)
}

await runThenClean(main)
