/**
 * An interpreter the kernel's OOM killer ends: the daemon runs in a memory cgroup of its own
 * with a limit (root, a v1 memory hierarchy or a v2 one that delegates memory: skipped visibly
 * otherwise), and a cell allocates past it. The count that rose is execd's cgroup's, every
 * child's, so the death says a kill was seen while it ran, not that it was this interpreter's.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs'
import { cgroupDirs } from '../core/cgroup-dirs'
import { startDaemon } from './harness'
import { PYTHON, pythonAvailable } from './python-env'
import { ofType, runCode } from './runtime-kit'

const LIMIT = 384 << 20

/** A fresh memory cgroup with LIMIT, beside this test's own; or why there is none. */
function memoryCgroup(): { dir: string; enter(pid: number): void } | string {
  if (process.getuid?.() !== 0) return 'needs root'
  const self = readFileSync('/proc/self/cgroup', 'latin1')
  for (const { version, dir } of cgroupDirs(self, 'memory')) {
    if (!existsSync(dir)) continue
    const child = `${dir}/execd-spec-oom-${process.pid}`
    try {
      if (version === 2 && !readFileSync(`${dir}/cgroup.subtree_control`, 'latin1').includes('memory')) continue
      mkdirSync(child)
      if (version === 2) {
        writeFileSync(`${child}/memory.max`, String(LIMIT))
        if (existsSync(`${child}/memory.swap.max`)) writeFileSync(`${child}/memory.swap.max`, '0')
      } else writeFileSync(`${child}/memory.limit_in_bytes`, String(LIMIT))
      made.push(child)
      return { dir: child, enter: pid => writeFileSync(`${child}/cgroup.procs`, String(pid)) }
    } catch {
      continue
    }
  }
  return 'no memory cgroup this test may make and limit'
}
const made: string[] = []
afterAll(async () => {
  // Empty once the last process in it has exited: polled, not assumed at execd's exit.
  for (const dir of made) {
    const deadline = Date.now() + 5_000
    for (;;) {
      try {
        rmdirSync(dir)
        break
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EBUSY' || Date.now() > deadline) throw err
        await Bun.sleep(50)
      }
    }
  }
})

const cgroup = pythonAvailable === true ? memoryCgroup() : 'no python'
if (typeof cgroup === 'string') console.warn(`skipped: an OOM-killed interpreter (${cgroup})`)

/** A cell that allocates past the limit, and one that prints 42, per language. */
const CELLS: [string, string, string][] = [
  ['python', "x = bytearray(b'x') * (2 << 30)", 'print(6 * 7)'],
  ['javascript', 'const a = []; for (;;) a.push(Buffer.alloc(1 << 20, 1))', 'console.log(6 * 7)'],
]

describe.skipIf(typeof cgroup === 'string')('an interpreter the OOM killer ends', () => {
  test.each(CELLS)(
    '%s: reports the OOM kill its count saw, and the next execution gets a fresh interpreter',
    async (language, hog, print) => {
      if (typeof cgroup === 'string') return
      const d = await startDaemon({ args: ['--python', PYTHON, '--python-spare', '0'] })
      try {
        cgroup.enter(d.proc.pid) // before any interpreter starts: they are in it too
        const events = await runCode(d, hog, { language })
        const error = ofType(events, 'error')[0]?.error
        expect(error?.ename).toBe('DeadKernelError')
        // The cgroup's count is every child's: it proves a kill among them, said after the status.
        expect(error?.traceback[0]).toBe(
          "signal: killed (the kernel's OOM killer killed a process in execd's memory cgroups " +
            "since this interpreter's last cell started, not known to be this interpreter's)",
        )
        expect(events.at(-1)?.type).toBe('execution_complete')
        const again = await runCode(d, print, { language })
        expect(ofType(again, 'stdout').map(e => e.text)).toEqual(['42\n'])
      } finally {
        await d.stop()
      }
    },
    60_000,
  )
})
