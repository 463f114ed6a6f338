/**
 * Instructions of a python context's interpreter from its exec to its first result (row 2b's
 * python side), counted by callgrind over every thread of the process: `PythonContext.start` of
 * this tree, with the driver compiled by an earlier interpreter handed in as execd does, then
 * `1 + 1`; a second cell ends the interpreter with `os._exit(0)` so that callgrind writes its
 * count (a few thousand instructions of it are that cell's). Beside it `python3 -c pass`, and both
 * again under `-S` (no `site`: as a python whose site loads little). Run it from two trees to set
 * a change to the driver against its old count; runs differ by ±0.1M.
 *
 *   bun run bench/python-start-instructions.ts [runs=3]
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createLogger } from '../core/log'
import { PythonContext } from '../plugins/python/context'
import { spawnTracked } from './lib/procs'

const PYTHON = process.env.EXECD_PYTHON || '/usr/bin/python3'
const runs = Number(process.argv[2] ?? 3)
const dir = mkdtempSync(join(process.env.TMPDIR ?? '/tmp', 'python-start-ir-'))
const log = createLogger('silent')

const countOf = (file: string): number => {
  const m = /^(?:summary|totals): (\d+)/m.exec(readFileSync(file, 'utf8'))
  if (!m) throw new Error(`no count in ${file}`)
  return Number(m[1])
}

/** An interpreter path that is python under callgrind, writing its count to `out`. */
function launcher(out: string, flags: string[]): string {
  const path = join(dir, 'python')
  const argv = ['valgrind', '--tool=callgrind', `--callgrind-out-file=${out}`, PYTHON, ...flags]
  writeFileSync(path, `#!/bin/sh\nexec ${argv.join(' ')} "$@"\n`)
  chmodSync(path, 0o755)
  return path
}

async function driver(flags: string[], driverCode: Uint8Array | undefined): Promise<number> {
  const out = join(dir, 'driver.cg')
  const env = process.env as Record<string, string>
  const start = { cwd: dir, env, log, readyTimeoutMs: 120_000, driverCode }
  const ctx = await PythonContext.start({ ...start, python: launcher(out, flags) })
  for await (const e of ctx.run('1 + 1')) if (e.type === 'error') throw new Error(JSON.stringify(e))
  for await (const _ of ctx.run("__import__('os')._exit(0)"));
  await ctx.close()
  const n = countOf(out)
  rmSync(out)
  return n
}

async function bare(flags: string[]): Promise<number> {
  const out = join(dir, 'bare.cg')
  const argv = ['valgrind', '--tool=callgrind', `--callgrind-out-file=${out}`, PYTHON, ...flags, '-c', 'pass']
  await spawnTracked(argv, { stdout: 'ignore', stderr: 'ignore' }).exited
  const n = countOf(out)
  rmSync(out)
  return n
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const M = (n: number) => `${(n / 1e6).toFixed(2)}M`

try {
  // The driver as an interpreter at this path compiles it, handed to every counted start.
  const first = await PythonContext.start({ python: PYTHON, cwd: dir, env: process.env as Record<string, string>, log })
  const code = first.driverCode
  await first.close()
  for (const flags of [[], ['-S']]) {
    const started: number[] = []
    const plain: number[] = []
    for (let i = 0; i < runs; i++) {
      started.push(await driver(flags, code))
      plain.push(await bare(flags))
    }
    const [d, p] = [median(started), median(plain)]
    const label = flags.length ? 'python -S' : 'python'
    console.log(`${label.padEnd(9)} to the first result ${M(d)}  -c pass ${M(p)}  the driver's part ${M(d - p)}`)
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
