/**
 * The spec tier as `make spec` runs it: its files in small batches, SPEC_SHARDS (2) `bun test`
 * runs at a time, each taking the next batch as it finishes. One `bun test` of all 268 files
 * took ~1,230 s of CI's 25 minutes, mostly waiting (daemons starting, timeouts, servers), not
 * computing; two at once keep both cores busy.
 *
 * Why batches from one queue and not two fixed halves: the files' times run from 0.1 to 60 s, so
 * fixed halves finish minutes apart, while a queue of ~6-file batches ends within one batch of
 * each other. Each shard has its own temp dir (spec/tmp-guard.ts checks its run's leftovers
 * there, and would take the other shard's live entries for leftovers in a shared one). A batch's
 * output is printed whole when it ends, so two shards' lines never interleave.
 *
 * Arguments: path filters as `bun test` takes them (`bun run spec/shards.ts spec/files`), all of
 * spec/ without. Exits 1 if any batch failed; the last lines sum every batch as `bun test` does.
 */
import { mkdirSync, rmSync, chmodSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const SHARDS = Math.max(1, Math.min(8, Number(process.env.SPEC_SHARDS) || 2))
const BATCH = 6
const TIMEOUT_MS = 60_000

const filters = process.argv.slice(2)
const files = [...new Bun.Glob('spec/**/*.test.ts').scanSync({ cwd: process.cwd() })]
  .filter(file => !file.includes('node_modules/'))
  .filter(file => filters.length === 0 || filters.some(filter => file.includes(filter.replace(/^\.\//, ''))))
  .sort()

const batches: string[][] = []
for (let i = 0; i < files.length; i += BATCH) batches.push(files.slice(i, i + BATCH))

interface Totals {
  pass: number
  fail: number
  skip: number
  todo: number
  tests: number
  files: number
}
const totals: Totals = { pass: 0, fail: 0, skip: 0, todo: 0, tests: 0, files: 0 }
const failed: string[][] = []
const running = new Set<Bun.Subprocess>()
const dirs = new Set<string>()
let stopping = false

/**
 * Ends what is left in a batch's process group: SIGTERM, then SIGKILL after `graceMs`. Each
 * batch's `bun test` leads a group of its own, and the daemons its tests start are in it (a
 * SIGTERM to the `bun test` alone ended it and left them running, orphaned); a daemon a failed
 * test never stopped is ended here too, as a batch ends.
 */
async function endGroup(pgid: number, graceMs: number): Promise<void> {
  const alive = () => {
    try {
      process.kill(-pgid, 0)
      return true
    } catch {
      return false
    }
  }
  if (!alive()) return
  try {
    process.kill(-pgid, 'SIGTERM')
  } catch {}
  for (const deadline = Date.now() + graceMs; alive() && Date.now() < deadline;) await Bun.sleep(50)
  try {
    process.kill(-pgid, 'SIGKILL')
  } catch {}
}

// Stopped (Ctrl-C, CI's timeout): the batches and their daemons end, then the shards' temp
// dirs go (a process.exit skips the `finally` that removes them otherwise).
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, async () => {
    stopping = true
    await Promise.all([...running].map(child => endGroup(child.pid, 10_000)))
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
    process.exit(signal === 'SIGINT' ? 130 : 143)
  })
}

/** Adds a batch's summary lines (" 12 pass", "Ran 14 tests across 6 files.") to the totals. */
function count(output: string): boolean {
  const number = (re: RegExp) => Number(re.exec(output)?.[1] ?? 0)
  totals.pass += number(/^\s*(\d+) pass$/m)
  totals.skip += number(/^\s*(\d+) skip$/m)
  totals.todo += number(/^\s*(\d+) todo$/m)
  const fail = number(/^\s*(\d+) fail$/m)
  totals.fail += fail
  const ran = /^Ran (\d+) tests? across (\d+) files?\./m.exec(output)
  totals.tests += Number(ran?.[1] ?? 0)
  totals.files += Number(ran?.[2] ?? 0)
  return fail === 0 && ran !== null
}

async function shard(index: number): Promise<void> {
  // Open to other users as the tmp guard asks: tests that drop to `nobody` work under it.
  const dir = join(tmpdir(), `spec-shard-${process.pid}-${index}`)
  mkdirSync(dir, { recursive: true })
  chmodSync(dir, 0o755)
  dirs.add(dir)
  try {
    for (let batch = batches.shift(); batch && !stopping; batch = batches.shift()) {
      const child = Bun.spawn(
        [process.execPath, 'test', '--timeout', String(TIMEOUT_MS), ...batch.map(file => `./${file}`)],
        {
          env: { ...process.env, TMPDIR: dir, EXECD_TMP_GUARD: '1' },
          // A group of its own (setsid): see endGroup.
          detached: true,
          stdin: 'ignore',
          stdout: 'pipe',
          stderr: 'pipe',
        },
      )
      running.add(child)
      // Both pipes read at once: one left unread would fill and stall the run.
      const [out, err, code] = await Promise.all([
        new Response(child.stdout).text(),
        new Response(child.stderr).text(),
        child.exited,
      ])
      running.delete(child)
      await endGroup(child.pid, 5_000)
      const output = out + err
      process.stdout.write(`\n=== shard ${index}: ${batch.join(' ')}\n${output}`)
      if (!count(output) || code !== 0) failed.push(batch)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const started = performance.now()
await Promise.all(Array.from({ length: SHARDS }, (_, i) => shard(i + 1)))
// Stopped meanwhile: the signal's handler ends the run with its own status.
if (stopping) await new Promise(() => {})
const seconds = ((performance.now() - started) / 1000).toFixed(2)

console.log(`\n=== spec tier: ${files.length} files in ${SHARDS} shards`)
for (const batch of failed) console.log(`failed batch: ${batch.join(' ')}`)
console.log(` ${totals.pass} pass`)
if (totals.skip) console.log(` ${totals.skip} skip`)
if (totals.todo) console.log(` ${totals.todo} todo`)
console.log(` ${totals.fail} fail`)
console.log(`Ran ${totals.tests} tests across ${totals.files} files. [${seconds}s]`)
process.exit(failed.length > 0 ? 1 : 0)
