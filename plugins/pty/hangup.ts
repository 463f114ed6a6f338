/**
 * Ending terminals as closing them would, but sure: SIGHUP (and SIGTERM) to every job of
 * every session at once, a short grace, then SIGKILL to whatever is left, until nothing of
 * them runs. Jobs are found by session id in /proc, read asynchronously and shared by all the
 * terminals ended together: shutdown with hundreds of terminals never blocks the event loop
 * (which would hold up the hard-stop timer) and scans /proc a few times, not per terminal.
 */
import { signalGroup } from '../../core/process-groups'
import { sleep } from '../../core/timers'
import type { ProcScanner } from '../../core/proc-scan'
import { groupsBySession } from './proc-stat'

/** What hangUp needs of a terminal session. */
interface Hangable {
  /** The shell's session id (its pid); null when it never started or has been reaped. */
  readonly session: number | null
  /** Resolves once the shell is reaped and its output drained. */
  readonly ended: Promise<void> | null
}

/** How long jobs get to go after the hang-up before SIGKILL. */
const HANGUP_GRACE_MS = 1000
/** Upper bound on waiting for killed jobs to vanish (SIGKILL is not instantaneous). */
const KILL_WAIT_MS = 2000

export async function hangUp(sessions: readonly Hangable[], scanner: ProcScanner): Promise<void> {
  const sids = new Set(sessions.flatMap(s => (s.session === null ? [] : [s.session])))
  if (sids.size === 0) return
  const signalAll = (groups: Map<number, Set<number>>, sig: NodeJS.Signals) => {
    for (const set of groups.values()) for (const group of set) signalGroup(group, sig)
  }
  const left = async () => groupsBySession(await scanner.scan(), sids)

  let groups = await left()
  // An interactive bash ignores SIGTERM and exits on SIGHUP, passing it on to its jobs.
  signalAll(groups, 'SIGHUP')
  signalAll(groups, 'SIGTERM')
  const graceEnd = performance.now() + HANGUP_GRACE_MS
  const killEnd = graceEnd + KILL_WAIT_MS
  for (let delay = 5; ; delay = Math.min(delay * 2, 50)) {
    await sleep(delay)
    groups = await left()
    if (groups.size === 0 || performance.now() > killEnd) break
    if (performance.now() >= graceEnd) signalAll(groups, 'SIGKILL')
  }
  await Promise.all(sessions.map(s => s.ended))
}
