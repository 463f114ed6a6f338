/**
 * Orphans execd must reap. As PID 1 in a container, every orphaned process of the namespace is
 * re-parented to it; elsewhere, execd makes itself its children's subreaper, so what they leave
 * behind (a double fork, `setsid` forking, a cleared environment) is re-parented to execd rather
 * than to an init outside its reach: execd can still find and kill it at shutdown. Either way
 * nobody else calls wait() for those, so this reaps them, without stealing the exit status of
 * a child Bun waits for: it peeks with waitid(WNOWAIT) and reaps only a child that is neither
 * an owned leader nor one of Bun's other children named here (`bunWaitsFor`: the entrypoint's
 * main process, a version probe). Not "any child in execd's process group": the main process
 * shares that group (for its terminal), and so does every job it leaves behind; each such zombie
 * was taken for Bun's own and, first in the kernel's list, stopped every sweep before any other.
 */
import { libcCalls } from './libc'
import type { Logger } from './log'

const P_ALL = 0
const WEXITED = 4
const WNOHANG = 1
const WNOWAIT = 0x01000000
const PR_SET_CHILD_SUBREAPER = 36
const RETRY_MS = 500

interface Calls {
  waitid(idtype: number, id: number, info: Uint8Array, options: number): number
  waitpid(pid: number, status: Int32Array, options: number): number
  prctl(option: number, a: number, b: number, c: number, d: number): number
}
type Libc = { symbols: Calls }

/** Whether every orphan of execd's children comes to execd (PID 1, or its children's subreaper). */
let adopting = false
export const adoptsOrphans = (): boolean => adopting

/** Children Bun spawned outside core/process.ts and waits for itself, while it does. */
const bunsChildren = new Set<number>()

/**
 * Keeps the reaper off a child spawned with Bun.spawn (not an owned one) until Bun has its status.
 * `counted` false for one that lives as long as execd (core/keeper.ts): counted, no orphan's exit
 * would ever again be swept at once (see `signalled`).
 */
export function bunWaitsFor(child: { pid: number; exited: Promise<unknown> }, counted = true): void {
  bunsChildren.add(child.pid)
  if (counted) childSpawned()
  const done = () => {
    bunsChildren.delete(child.pid)
    if (counted) childReaped()
  }
  child.exited.then(done, done)
}

/** Children Bun will reap (owned leaders, those of bunWaitsFor) not yet reaped. */
let bunsLive = 0
/** What a reap of one of them does while a reaper runs: sweep, if a SIGCHLD asked for one. */
let afterReap: (() => void) | undefined

/** Bun spawned a child it will reap itself (core/process.ts: an owned leader). */
export function childSpawned(): void {
  bunsLive++
}

/** Bun has reaped such a child: the sweep a SIGCHLD asked for meanwhile runs now. */
export function childReaped(): void {
  bunsLive = Math.max(0, bunsLive - 1)
  afterReap?.()
}

function loadLibc(log: Logger, why: string): Libc | undefined {
  const c = libcCalls<Calls>(({ FFIType: { i32, ptr, u64 } }) => ({
    waitid: { args: [i32, i32, ptr, i32], returns: i32 },
    waitpid: { args: [i32, ptr, i32], returns: i32 },
    prctl: { args: [i32, u64, u64, u64, u64], returns: i32 },
  }))
  if (!c) log.warn(`cannot load libc to reap orphans; ${why}`)
  return c ? { symbols: c } : undefined
}

/**
 * Reaps orphaned zombies when a child exits. An orphan re-parented to execd signals SIGCHLD to
 * it when it ends, as a child does: a sweep on each signal finds every zombie there is, and an
 * idle daemon makes no call at all (a sweep every half second made 2 of its wake-ups a second).
 * Signals coalesce, so a sweep takes every zombie it finds, not one a signal. A sweep that stops
 * at one of Bun's own children (Bun reaps it when its loop gets to it; waitid names that zombie
 * first until then) is run again when Bun has reaped one, or after RETRY_MS, whichever is first.
 */
function sweepOrphans(lib: Libc, isOwnChild: (pid: number) => boolean): () => void {
  const info = new Uint8Array(128) // siginfo_t
  const status = new Int32Array(1)
  const view = new DataView(info.buffer)
  const bunsOwn = (pid: number) => isOwnChild(pid) || bunsChildren.has(pid)
  let retry: ReturnType<typeof setTimeout> | undefined
  /** A SIGCHLD came, or a sweep stopped at a zombie of Bun's: sweep again at the next reap. */
  let due = false
  /** What is left for later: a zombie of Bun's, or more than one sweep takes. */
  const sweepOnce = (): 'none' | 'buns' | 'more' => {
    for (let i = 0; i < 256; i++) {
      info.fill(0)
      if (lib.symbols.waitid(P_ALL, 0, info, WEXITED | WNOHANG | WNOWAIT) !== 0) return 'none'
      const pid = view.getInt32(16, true) // si_pid, after si_signo/si_errno/si_code + padding
      if (pid === 0) return 'none'
      if (bunsOwn(pid)) return 'buns'
      lib.symbols.waitpid(pid, status, WNOHANG)
    }
    return 'more'
  }
  const later = () => {
    if (retry) return
    retry = setTimeout(sweep, RETRY_MS)
    retry.unref?.()
  }
  const sweep = () => {
    if (retry) clearTimeout(retry)
    retry = undefined
    const left = sweepOnce()
    due = left === 'buns'
    if (left !== 'none') later()
  }
  /**
   * While a child Bun will reap lives, a SIGCHLD is most likely its exit: swept at once, the peek
   * met its zombie first (every command's, between its exit and its answer) and looked again
   * 500 ms later, a wake-up of an idle daemon after each command. So the sweep waits for Bun's
   * next reap and runs at the loop's next turn after it, when that zombie is gone (one that
   * ended with no child of Bun's alive is swept at once). An orphan's exit while children of
   * Bun's run on is swept within RETRY_MS, by the timer that is the fallback.
   */
  const signalled = () => {
    if (bunsLive === 0) return sweep()
    due = true
    later()
  }
  let soon = false
  afterReap = () => {
    if (!due || soon) return
    soon = true
    setImmediate(() => {
      soon = false
      if (due) sweep()
    })
  }
  process.on('SIGCHLD', signalled)
  // What ended before the handler was there signalled no one.
  sweep()
  // A last sweep when it stops (shutdown): what was just killed leaves no zombie to init.
  return () => {
    process.off('SIGCHLD', signalled)
    afterReap = undefined
    if (retry) clearTimeout(retry)
    retry = undefined
    sweepOnce()
  }
}

export function startOrphanReaper(isOwnChild: (pid: number) => boolean, log: Logger): () => void {
  if (process.pid !== 1 || process.platform !== 'linux') return () => {}
  const lib = loadLibc(log, 'run execd under an init')
  if (!lib) return () => {}
  log.info('running as PID 1: reaping orphaned processes')
  adopting = true
  return sweepOrphans(lib, isOwnChild)
}

/**
 * Makes execd the subreaper of what it spawns (not as PID 1, which is one already), and reaps
 * what is re-parented to it. Called before the first owned process is spawned.
 */
export function adoptOrphans(isOwnChild: (pid: number) => boolean, log: Logger): () => void {
  if (process.pid === 1 || process.platform !== 'linux') return () => {}
  const lib = loadLibc(log, 'what children leave behind goes to init')
  if (!lib) return () => {}
  if (lib.symbols.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) !== 0) {
    log.warn('cannot become the subreaper of its children: what they leave behind goes to init')
    return () => {}
  }
  adopting = true
  return sweepOrphans(lib, isOwnChild)
}
