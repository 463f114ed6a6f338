/**
 * Where a warm go cell's build goes: the kernel's `go build` of a `1 + 1`-sized cell (its
 * module, its support file, its flags and environment from toolchain.ts) against the same
 * cell's compile and link run directly, with the command lines and import configs the go
 * command itself chose (learned once from `go build -x -work`), and against `go build` with
 * environments that make its tools do less (GOGC, GOMAXPROCS). Each build is of a new cell
 * (`<n> + 1`), so nothing comes from the build cache but the standard library and what the
 * support file imports. Variants take turns in every round, so the machine's load hits all
 * alike; CPU is the build's and its children's (wait4), wall is the build's.
 *
 *   bun run bench/go-cell-build.ts [rounds=12]
 *
 * Not a test and not part of `make bench`: it measures what a replacement of `go build` would
 * save, not something execd does.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { childEnv } from '../core/child-env'
import programSource from '../plugins/go/kernel/program.go' with { type: 'text' }
import { findGo, goBuildEnv } from '../plugins/go/toolchain'
import { percentile } from './lib/stats'

const rounds = Number(process.argv[2] ?? 12)
const found = await findGo(process.env.EXECD_GO ?? 'go')
if ('missing' in found) throw new Error(found.missing)
const tc = found

const support = /const support = `([^`]*)`/.exec(programSource)?.[1]
if (!support) throw new Error('no support file in plugins/go/kernel/program.go')

const dir = mkdtempSync(join(tmpdir(), 'go-cell-build-'))
const work = join(dir, 'work')
const mod = join(dir, 'mod')
const base = { ...childEnv(), GOTMPDIR: dir }
for (const kv of goBuildEnv(base, tc)) {
  const at = kv.indexOf('=')
  ;(base as Record<string, string>)[kv.slice(0, at)] = kv.slice(at + 1)
}
/** The kernel's flags (plugins/go/kernel/exec.go). */
const buildArgs = ['build', '-buildvcs=false', '-ldflags=-s -w', '-o', 'cell', '.']

let n = 0
/** A cell the cache has not seen: main.go as the kernel writes it. */
function newCell() {
  n++
  const main = `package main\n\n//line execd-main.go:1\nfunc main() {\n\tdefer _execdRecover()\n//line cell${n}:1:1\n_execdShow(${Date.now() % 1e6}${n} + 1)\n}\n`
  writeFileSync(join(mod, 'main.go'), main)
}

interface Cost {
  cpuMs: number
  wallMs: number
}

function run(argv: string[], env: Record<string, string>): Cost {
  const t0 = performance.now()
  const p = Bun.spawnSync(argv, { cwd: mod, env, stdout: 'pipe', stderr: 'pipe' })
  const wallMs = performance.now() - t0
  if (p.exitCode !== 0) throw new Error(`${argv.join(' ')}: ${p.stderr.toString().slice(0, 2000)}`)
  return { cpuMs: Number(p.resourceUsage.cpuTime.total) / 1000, wallMs }
}

/** Go-quoted and bare words of one `-x` line (cmd/go's joinUnambiguously). */
function words(line: string): string[] {
  const out: string[] = []
  for (const m of line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g))
    out.push(m[1] !== undefined ? JSON.parse(`"${m[1]}"`) : m[2]!)
  return out
}

/** The compile and link command lines the go command runs for the cell, as it printed them. */
function learn(): { compile: string[]; link: string[] } {
  newCell()
  const p = Bun.spawnSync([tc.go, 'build', '-x', '-work', ...buildArgs.slice(1)], { cwd: mod, env: base })
  const text = p.stderr.toString()
  const goWork = /^WORK=(.*)$/m.exec(text)?.[1]
  if (p.exitCode !== 0 || !goWork) throw new Error(`go build -x: ${text.slice(0, 2000)}`)
  const line = (tool: string) => text.split('\n').find(l => l.includes(`/${tool} -o `))
  const compileLine = line('compile')
  const linkLine = line('link')
  if (!compileLine || !linkLine) throw new Error(`no compile or link line in:\n${text.slice(0, 4000)}`)
  rmSync(work, { recursive: true, force: true })
  Bun.spawnSync(['cp', '-r', goWork, work])
  rmSync(goWork, { recursive: true, force: true })
  const at = (s: string) => s.replaceAll('$WORK', work).replaceAll(goWork, work)
  // The link's import config names the cell's package in the work dir: where compile puts it.
  for (const cfg of ['b001/importcfg', 'b001/importcfg.link'])
    writeFileSync(join(work, cfg), at(readFileSync(join(work, cfg), 'utf8')))
  const link = words(linkLine).map(at)
  link[link.indexOf('-o') + 1] = join(mod, 'cell')
  return { compile: words(compileLine).map(at), link }
}

try {
  Bun.spawnSync(['mkdir', '-p', mod])
  writeFileSync(join(mod, 'go.mod'), `module execdcell\n\ngo ${tc.language}\n`)
  writeFileSync(join(mod, 'execd.go'), support)
  const plan = learn()
  const variants: Record<string, () => Cost> = {
    'go build (the kernel)': () => run([tc.go, ...buildArgs], base),
    'go build, GOGC=400': () => run([tc.go, ...buildArgs], { ...base, GOGC: '400' }),
    [`go build, GOMAXPROCS=1 -p=${cpus().length}`]: () =>
      run([tc.go, buildArgs[0]!, `-p=${cpus().length}`, ...buildArgs.slice(1)], { ...base, GOMAXPROCS: '1' }),
    'compile + link direct': () => {
      const c = run(plan.compile, base)
      const l = run(plan.link, base)
      // What it built is the cell: its value comes on fd 3 as the kernel reads it.
      const out = Bun.spawnSync(['sh', '-c', './cell 3>&1'], { cwd: mod }).stdout.toString()
      if (!out.startsWith('result\t"')) throw new Error(`the directly built cell printed ${JSON.stringify(out)}`)
      return { cpuMs: c.cpuMs + l.cpuMs, wallMs: c.wallMs + l.wallMs }
    },
  }
  const costs = new Map<string, Cost[]>(Object.keys(variants).map(k => [k, []]))
  for (let r = 0; r < rounds; r++)
    for (const [name, build] of Object.entries(variants)) {
      newCell()
      costs.get(name)!.push(build())
    }
  const ms = (xs: number[]) => `median ${percentile(xs, 0.5).toFixed(0)} ms, p90 ${percentile(xs, 0.9).toFixed(0)} ms`
  console.log(`${tc.version}, ${rounds} rounds, load ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}`)
  for (const [name, cs] of costs)
    console.log(`${name}: CPU ${ms(cs.map(c => c.cpuMs))}; wall ${ms(cs.map(c => c.wallMs))}`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
