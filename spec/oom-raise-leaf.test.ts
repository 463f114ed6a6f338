/**
 * A command spawned into its cgroup leaf has its oom_score_adj raised (core/oom-adj.ts) and then
 * that of every process its leaf lists: one read of the leaf's kept `cgroup.procs`. The walk down
 * /proc it replaces (the leader's task directory, each thread's `children`) was 7 system calls
 * more per command, and missed what the command had orphaned before the raise: no `children`
 * file lists an orphan. Both seen with strace on the daemon's threads (skipped, visibly, without
 * strace or writable cgroup v2 leaves).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Daemon, postJson, readSse, startDaemon, waitFor } from './harness'

const dir = mkdtempSync(join(tmpdir(), 'execd-spec-oom-leaf-'))
const strace = Bun.which('strace')
let d: Daemon
let child: number

/** The stdout of one command, its lines joined. */
async function output(command: string): Promise<string> {
  const frames = await readSse(await postJson(d, '/command', { command }))
  return frames
    .filter(f => f.data.type === 'stdout')
    .map(f => f.data.text)
    .join('\n') // one event a line
}

/** A daemon whose commands get leaves of its own tree, or none. */
const leaves = await (async () => {
  d = await startDaemon()
  return /^0::.*\/execd-\d+-[0-9a-f]+\/\d+$/m.test(await output('cat /proc/self/cgroup'))
})()
if (!strace || !leaves) console.warn('skipped: the oom raise from the leaf needs strace and cgroup v2 leaves')

beforeAll(() => {
  child = Math.min(1000, Number(readFileSync(`/proc/${d.proc.pid}/oom_score_adj`, 'latin1')) + 500)
})
afterAll(async () => {
  await d.stop()
  rmSync(dir, { recursive: true, force: true })
})

/** strace on each of the daemon's threads, with `args`, while `body` runs; its output lines. */
async function traced(name: string, args: string[], body: () => Promise<void>): Promise<string[]> {
  const out = join(dir, `${name}.strace`)
  const tids = readdirSync(`/proc/${d.proc.pid}/task`)
  const tracer = Bun.spawn(['strace', '-qq', ...args, '-o', out, ...tids.flatMap(t => ['-p', t])], {
    stderr: 'pipe',
  })
  try {
    await waitFor('strace to attach', () =>
      /^TracerPid:\s+[1-9]/m.test(readFileSync(`/proc/${d.proc.pid}/status`, 'utf8')),
    )
    await body()
  } finally {
    tracer.kill('SIGINT')
    await tracer.exited
  }
  return readFileSync(out, 'utf8').split('\n')
}

describe.skipIf(!strace || !leaves)('the oom raise of a command in its leaf', () => {
  test('reads the leaf, and walks no /proc/<pid>/task', async () => {
    const lines = await traced('walk', ['-e', 'trace=openat'], async () => {
      for (let i = 0; i < 10; i++) expect(await output('true')).toBe('')
    })
    const opened = (what: RegExp) => lines.filter(l => what.test(l)).length
    expect(opened(/"\/proc\/\d+\/oom_score_adj"/)).toBe(10)
    expect(opened(/"\/proc\/\d+\/task/)).toBe(0)
    // Still raised: the command and what it makes.
    expect(await output('cat /proc/self/oom_score_adj; (cat /proc/self/oom_score_adj)')).toBe(`${child}\n${child}`)
  }, 30_000)

  test('raises what the command orphaned before its raise', async () => {
    const file = join(dir, 'orphan')
    // Every spawn's clone3 returns 1 s late: the command's shell has forked, orphaned its
    // grandchild and exited before execd raises anything. The grandchild, in the leaf still,
    // reads its value once the raise is long done.
    await traced('orphan', ['-e', 'trace=clone3', '-e', 'inject=clone3:delay_exit=1000000'], async () => {
      await output(
        `( (sleep 2; cat /proc/self/oom_score_adj > ${file}.tmp; mv ${file}.tmp ${file}) & ) >/dev/null 2>&1`,
      )
    })
    await waitFor('the orphan to write its value', () => existsSync(file), 20_000)
    // The walk down the shell's children missed it: it kept execd's own value.
    expect(Number(readFileSync(file, 'latin1'))).toBe(child)
  }, 40_000)
})
