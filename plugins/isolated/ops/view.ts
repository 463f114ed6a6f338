/**
 * How execd reaches what a session sees: its sandbox's init, whose `/proc/<pid>/root` is the
 * session's root resolved in the session's own mount namespace (an overlay workspace shows its
 * merged view there).
 */
import { ExecdError } from '../../../core/errors'
import { firstChildOf } from '../../../core/procfs'
import { HeldWorkspace } from './held-workspace'
import type { Session } from './session'

/** The pid of the sandbox's init (bwrap's child in the new PID namespace); 404 once the shell has ended. */
function sandboxPid(s: Session): number {
  const child = s.bash.alive ? firstChildOf(s.bash.pid) : undefined
  if (!child) {
    throw new ExecdError('CONTEXT_NOT_FOUND', `isolated session ${s.id} has ended; create a new one`)
  }
  return child
}

/**
 * The session's bash as the host sees it, from the pid execd started (bwrap, which forks the
 * sandbox's init, which forks the shell; the wrappers between exec in place): the init's
 * oldest child, since processes orphaned in the sandbox are handed to the init after it.
 */
export function shellOf(leader: number): number | undefined {
  const init = firstChildOf(leader)
  return init === undefined ? undefined : firstChildOf(init)
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

/**
 * The session's workspace held for the sandbox now running: made at its first files request,
 * let go when that sandbox ends (a commit's restart starts a new one). 404 once the shell has ended.
 */
export function workspaceOf(s: Session): HeldWorkspace {
  const { bash, held } = s
  if (held?.bash === bash && bash.alive) return held.workspace
  const workspace = new HeldWorkspace(`/proc/${sandboxPid(s)}/root`, s.params.workspace.path)
  held?.workspace.close()
  s.held = { bash, workspace }
  // Its descriptor keeps the sandbox's mounts (an overlay's) alive: let go as the sandbox ends.
  void bash.exited.then(() => workspace.close())
  return workspace
}
