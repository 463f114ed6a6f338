/** What one isolated session is, and what every session of a daemon is given. */
import type { HeldDir } from '../../../core/held-dir'
import type { LiveBash } from '../../../core/live-bash'
import type { HeldWorkspace } from './held-workspace'
import type { Params } from './params'
import type { ShellSettings } from './shell'

export interface IsolatedSettings extends Pick<ShellSettings, 'tmpfsBytes'> {
  /** bubblewrap: a path or a name looked up on PATH. */
  bwrap: string
  /** Host directories bind sources and extra_writable paths must lie within. */
  bindsAllowlist: string[]
  /** Sessions at once (0: no limit). */
  max: number
  /** Idle timeout of a session that names none, in seconds (0: never). */
  idleSeconds: number
  /** Host files no session may read: execd's token file (as named, and as it resolved at the start). */
  hidden?: string[]
  /** This daemon's --root as its real path (core/workdir.ts workRoot), which workspaces, binds and extra_writable stay within. */
  root?: string
}

export interface Session {
  id: string
  params: Params
  createdAt: string
  lastRunAt?: string
  bash: LiveBash
  /** This session's dir in execd's private temp dir: the run file, the overlay layers (its name). */
  dir: string
  /** That dir, held open: what execd makes, writes and reads there goes through it (core/held-dir.ts). */
  home: HeldDir
  runs: number
  /** When it was last used (creation, the end of a run), on the awake clock (core/awake-clock.ts). */
  lastUse: number
  release: () => void
  /**
   * The commit in flight, settled (it never rejects): it stops the shell, empties the overlay
   * and starts a fresh shell, so what else touches the session waits for it (`ready`).
   */
  commit?: Promise<void>
  /** Writes through the files routes in progress (`overView`): a commit waits for none. */
  writes: number
  /** The workspace held for the sandbox of `bash` (view.ts `workspaceOf`), once a files request asked. */
  held?: { bash: LiveBash; workspace: HeldWorkspace }
}
