/**
 * `make fuzz-model`: the model-based run (model.ts) against its own `dist/execd serve --root`,
 * FUZZ_SECONDS long (default 120), seeded by FUZZ_SEED. Prints the runs and steps, or the
 * smallest failing sequence; exits 1 on one.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startDaemon } from '../harness'
import { runModel } from './model'
import { seedFromEnv } from './report'

const seconds = Number(process.env.FUZZ_SECONDS ?? 120)
const seed = seedFromEnv()
const base = mkdtempSync(join(tmpdir(), 'execd-model-'))
const root = join(base, 'root')
const dir = join(root, 'model')
for (const d of [root, dir, join(base, 'home'), join(base, 'tmp')]) mkdirSync(d, { recursive: true })
const d = await startDaemon({
  args: ['--root', root, '--python-spare', '0', '--log-level', 'warn'],
  cwd: root,
  env: { HOME: join(base, 'home'), TMPDIR: join(base, 'tmp') },
})
console.log(`model: seed ${seed}, ${seconds} s`)
let failed = true
try {
  const out = await runModel({ d, dir }, seed, Date.now() + seconds * 1000)
  console.log(`model: ${out.runs} sequences, ${out.steps} steps`)
  if (out.failure) console.log(`model: a sequence the daemon disagreed with:\n${out.failure}`)
  failed = out.failure !== null || d.proc.exitCode !== null
  if (d.proc.exitCode !== null) console.log(`model: execd exited (${d.proc.exitCode}): ${d.logs().slice(-2000)}`)
} finally {
  await d.stop()
  rmSync(base, { recursive: true, force: true })
}
process.exit(failed ? 1 : 0)
