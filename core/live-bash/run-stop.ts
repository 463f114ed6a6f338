/**
 * What stopping a run does after its SIGINT: a SIGINT lost as bash forked is sent again to the
 * processes that lost it, then every process below the shell (the run's foreground processes and
 * what they started) is killed, the shell kept.
 */
import { readFile } from 'node:fs/promises'
import { inLanes } from '../lanes'
import { scanProcs, type ProcInfo } from '../proc-scan'
import { readStatAsync } from '../procfs'
import { within } from '../timers'
import { signalMask } from '../signal-masks'

const settles = async (p: Promise<unknown>, ms: number) => (await within(p, ms)) !== 'timeout'

/** Deeper than any tree a run makes; a chain past it is a fork bomb, ended with its shell's cgroup. */
const MAX_DEPTH = 256

/**
 * How long a stop waits before it looks for a lost SIGINT: most runs end within it (a `sleep`
 * in 20–60 ms at load 15), and a lost one then costs this, not the whole grace.
 */
const RESEND_MS = 150

/** Status files read at once: a run's processes are a few; a fork bomb's wait their turn. */
const LANES = 8

/**
 * After a stop's SIGINT (sent to the shell's group at `sentAt`, in procfs ticks): waits for the
 * run to end, sends SIGINT again where it was lost, and after `graceMs` kills what runs below the
 * shell. True once the run has ended, false if it outlasted that too. `shellOf` is the shell that
 * runs the code: where a wrapper started it (an isolated session's bubblewrap), the wrapper's
 * child is the sandbox's init, and killing it ended the whole session; none (the sandbox gone):
 * nothing of a run is left to signal.
 */
export async function outlast(
  ended: Promise<unknown>,
  graceMs: number,
  sentAt: number,
  shellOf: () => number | undefined,
): Promise<boolean> {
  const first = Math.min(RESEND_MS, graceMs)
  if (await settles(ended, first)) return true
  const shell = shellOf()
  if (shell !== undefined) await interruptWhereLost(shell, sentAt)
  if (await settles(ended, graceMs - first)) return true
  if (shell !== undefined) await killDescendantsOf(shell)
  return settlesOnceScheduled(ended, graceMs, shell)
}

/** A stat's CPU ticks in milliseconds (USER_HZ, 100 on Linux: core/procfs.ts ticksSinceBoot). */
const MS_PER_TICK = 10

/** The look for the run's end after the shell's state is read: a few turns of I/O. */
const LAST_LOOK_MS = 100

/** More waits of `graceMs` a shell that got next to no CPU in the last may have (so 10 s at most). */
const STARVED_WAITS = 10

/**
 * The wait after the kill, before the caller closes the whole shell and its state with it.
 * Nothing is left below the shell but its own end; on a loaded machine it may not have run at
 * all in a wait (2 cores at load 25: seconds between a shell's turns), and its end came after the
 * wall-clock grace: the next run found the shell closed (core/live-bash/events.test.ts, in CI
 * once, and 4 of 16 runs under `nice -n 19` beside four more at load 25). So a shell still
 * runnable (or stopped) that used under a tenth of a wait's CPU is waited for again; one that
 * spent the wait on the CPU (a builtin loop ignoring SIGINT) or sleeps (a builtin read) is done
 * with. A timer that fired after execd itself stalled runs before the output that came
 * meanwhile: the state is read, then I/O is let in (the run's end may be there, written by a
 * shell continued in the wait), and only then is it decided.
 */
async function settlesOnceScheduled(ended: Promise<unknown>, graceMs: number, shell: number | undefined) {
  const stat = () => (shell === undefined ? Promise.resolve(undefined) : readStatAsync(shell))
  let before = await stat()
  for (let waits = 0; ; waits++) {
    if (await settles(ended, graceMs)) return true
    // Read before the last look: a shell that sleeps now had written all it will, its end included.
    const after = await stat()
    if (await settles(ended, LAST_LOOK_MS)) return true
    if (before?.cpu === undefined || after?.cpu === undefined || waits >= STARVED_WAITS) return false
    // Runnable and not run, or stopped (SIGSTOP): not scheduled. Sleeping: blocked on its own.
    if (after.state !== 'R' && after.state !== 'T') return false
    if ((after.cpu - before.cpu) * MS_PER_TICK >= graceMs / 10) return false
    before = after
  }
}

/** Each process below `pid` still running, parents first, from one /proc pass; `pid`'s own entry too. */
async function treeBelow(pid: number): Promise<{ root: ProcInfo | undefined; below: ProcInfo[] }> {
  const children = new Map<number, ProcInfo[]>()
  let root: ProcInfo | undefined
  for (const p of await scanProcs()) {
    if (p.pid === pid) root = p
    if (p.state === 'Z') continue
    const siblings = children.get(p.ppid)
    if (siblings) siblings.push(p)
    else children.set(p.ppid, [p])
  }
  const below: ProcInfo[] = []
  let level = children.get(pid) ?? []
  for (let depth = 0; level.length > 0 && depth < MAX_DEPTH; depth++) {
    below.push(...level)
    level = level.flatMap(child => children.get(child.pid) ?? [])
  }
  return { root, below }
}

/**
 * SIGKILL to each process below `pid` still running. Not the direct children alone: a subshell
 * that ignored SIGINT (`(trap '' INT; sleep 30)`) was killed and its `sleep`, orphaned, ran on
 * to its end after the run was told it stopped.
 */
async function killDescendantsOf(pid: number): Promise<void> {
  // Parents first (the order of the walk): a parent still alive as its children die could fork more.
  for (const victim of (await treeBelow(pid)).below)
    try {
      process.kill(victim.pid, 'SIGKILL')
    } catch {}
}

/**
 * SIGINT again to each process below `shell`, in its group, that was there when the first was
 * sent and leaves SIGINT to its default: such a process cannot have had the first one and lived,
 * so it lost it — caught by bash's handler in a child just forked, then dropped by its exec (1
 * stop in 60). A program that catches or ignores SIGINT is never sent a second: a blind one cut
 * python's `except KeyboardInterrupt:` cleanup 3 of 3. One started after the first SIGINT (a
 * cleanup's own child) is left alone too, but for one started in the same 10 ms tick.
 */
async function interruptWhereLost(shell: number, sentAt: number): Promise<void> {
  const { root, below } = await treeBelow(shell)
  if (!root) return
  const lost = below.filter(p => p.pgid === root.pgid && p.start !== undefined && p.start <= sentAt)
  await inLanes(lost, LANES, async p => {
    if (!(await takesDefaultInterrupt(p.pid))) return
    // Still the process of the pass, not one given its pid since: the start time read after the
    // status. What remains is the gap from this read to the kill below, a few microseconds.
    if ((await readStatAsync(p.pid))?.start !== p.start) return
    try {
      process.kill(p.pid, 'SIGINT')
    } catch {}
  })
}

/** SIGINT's bit in a status file's signal masks (signal n is bit n − 1). */
const SIGINT_BIT = 1n << 1n

/** Whether `pid` neither catches nor ignores SIGINT (`/proc/<pid>/status` SigCgt, SigIgn); false if gone. */
export async function takesDefaultInterrupt(pid: number): Promise<boolean> {
  let status: string
  try {
    status = await readFile(`/proc/${pid}/status`, 'latin1')
  } catch {
    return false
  }
  const caught = signalMask(status, 'SigCgt')
  const ignored = signalMask(status, 'SigIgn')
  if (caught === undefined || ignored === undefined) return false
  return ((caught | ignored) & SIGINT_BIT) === 0n
}
