/**
 * Children go before execd when memory runs out. The kernel's OOM killer takes the process with
 * the most memory of its own (RSS), raised by its oom_score_adj; it cannot see what a process
 * only makes others hold. Commands writing their output into execd's temp dir on a tmpfs (the
 * usual /tmp of a container) fill memory that is no process's: in a 400 MiB memory cgroup, two
 * such commands made execd the largest process there, and the killer took it — every command,
 * session and interpreter left without its owner, the temp dir left full.
 *
 * So every owned child gets an oom_score_adj `CHILD_BONUS` above execd's own (at most 1000),
 * written to its /proc/<pid>/oom_score_adj as soon as the spawn returns, and to every process it
 * made before that (those its cgroup leaf holds, or its threads' `children` down the tree); what
 * it makes later inherits it.
 * Raising a value needs no privilege, so this works for an unprivileged execd too; where /proc
 * cannot be written, nothing is done.
 *
 * It was set on execd itself around each spawn, for the child to inherit at fork. For that
 * moment execd had the children's value, and the largest of equals is the one killed: out of
 * memory during a spawn — most likely then, as a spawn takes memory of its own — the killer took
 * execd, not the children of 37 MiB beside it (spec/oom-victim: ECONNRESET on a command after
 * the kills; the kernel's log showed execd at 500 when it was killed).
 */
import { closeSync, constants, openSync, readFileSync, writeSync } from 'node:fs'
import { childrenOf } from './procfs'

/** Half of the range's top: a child of a few MiB outranks an execd of hundreds. */
const CHILD_BONUS = 500

/** A child found with more processes than these made in the microseconds since it started is not a shell starting up. */
const MAX_PROCESSES = 64
const MAX_DEPTH = 8

/** The value written, "" when there is none to write (execd already at the top, no /proc). */
let childValue: string | undefined

function value(): string {
  if (childValue !== undefined) return childValue
  childValue = ''
  try {
    const own = Number(readFileSync('/proc/self/oom_score_adj', 'latin1').trim())
    const child = Math.min(1000, own + CHILD_BONUS)
    if (Number.isInteger(own) && child !== own) childValue = `${child}\n`
  } catch {}
  return childValue
}

/**
 * Gives the child `pid` (and what it has made so far) the children's oom_score_adj. `inLeaf`, for
 * a child spawned into its own cgroup leaf, lists what that leaf holds: every process the child
 * made before its own value was written is there (the leaf was empty before the spawn), whatever
 * its depth and orphans too (no `children` file lists those), in one read of a kept file — where
 * the walk down /proc opens each process's task directory and each thread's `children` (7 system
 * calls for a childless shell, against 1).
 */
export function raiseOomScore(pid: number, inLeaf?: () => string[] | undefined): void {
  const text = value()
  if (text === '') return
  const budget = { left: MAX_PROCESSES }
  const raised = write(pid, text, budget)
  // The leaf outlives a leader already gone: what it orphaned there is still listed.
  const listed = childValue === '' ? undefined : inLeaf?.()
  if (!listed) return raised ? walk(pid, text, 0, budget) : undefined
  const own = String(pid)
  // A process that left the leaf in the moment since the spawn (only root can) is not raised.
  for (const other of listed) if (other !== '' && other !== own) write(Number(other), text, budget)
}

/** The value written to `pid`; false if it was not (gone, not execd's to change, over budget). */
function write(pid: number, text: string, budget: { left: number }): boolean {
  if (budget.left-- <= 0) return false
  try {
    // Opened for writing only: writeFileSync's O_CREAT|O_TRUNC and its ftruncate after the write
    // were two more steps in the kernel on every spawn, for a file that is never made or cut.
    const fd = openSync(`/proc/${pid}/oom_score_adj`, constants.O_WRONLY)
    try {
      writeSync(fd, text)
    } finally {
      closeSync(fd)
    }
    return true
  } catch (err) {
    // Gone already, or not execd's to change (a setuid program): that process keeps its value.
    // A read-only /proc refuses every one: stop trying.
    if ((err as NodeJS.ErrnoException).code === 'EROFS') childValue = ''
    return false
  }
}

/** What `pid` made so far, down its threads' `children` (where no leaf lists them). */
function walk(pid: number, text: string, depth: number, budget: { left: number }): void {
  if (depth >= MAX_DEPTH) return
  // Without CONFIG_PROC_CHILDREN (no list), only what the child makes from now on is raised.
  for (const child of childrenOf(pid) ?? []) {
    if (budget.left > 0 && write(child, text, budget)) walk(child, text, depth + 1, budget)
  }
}
