/**
 * How execd reaches what a session sees: its sandbox's init, whose `/proc/<pid>/root` is the
 * session's root resolved in the session's own mount namespace (an overlay workspace shows its
 * merged view there).
 */
import { ExecdError } from '../../../core/errors'
import { firstChildOf } from '../../../core/procfs'
import type { Session } from './session'

/** The pid of the sandbox's init (bwrap's child in the new PID namespace); 404 once the shell has ended. */
export function sandboxPid(s: Session): number {
  const leader = s.bash.pid
  const child = s.bash.alive ? firstChildOf(leader) : undefined
  if (!child) {
    throw new ExecdError('CONTEXT_NOT_FOUND', `isolated session ${s.id} has ended; create a new one`)
  }
  return child
}

/** The session's root as execd reaches it while its sandbox runs (undefined once it has ended). */
export function sessionRoot(s: Session): string | undefined {
  if (!s.bash.alive) return undefined
  try {
    return `/proc/${sandboxPid(s)}/root`
  } catch {
    return undefined
  }
}
