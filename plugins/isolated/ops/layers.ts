/** The overlay layers of a session's workspace, in the session's dir. */
import { chmodSync, chownSync, lstatSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { HeldDir } from '../../../core/held-dir'
import { invalid, type Params } from './params'

/** The layers of an overlay session; a clear 400 for the other modes. */
export function overlayOf(s: { home: HeldDir; params: Params }): { upper: string; workspace: string } {
  const mode = s.params.workspace.mode
  if (mode !== 'overlay') {
    throw invalid(
      `diff and commit need an overlay workspace; this session's workspace is ${mode} (its writes are already in place)`,
    )
  }
  return { upper: s.home.beneath('ovl', 'upper'), workspace: s.params.workspace.path }
}

/**
 * Upper and work dirs of an overlay. The merged root shows the upper root's owner and mode,
 * so it takes the workspace's: a 0777 workspace stays writable for a uid-switched session.
 */
export function makeOverlayDirs(dir: string, workspace: string): string {
  const ovl = join(dir, 'ovl')
  for (const d of ['upper', 'work']) mkdirSync(join(ovl, d), { recursive: true, mode: 0o755 })
  const st = lstatSync(workspace)
  chownSync(join(ovl, 'upper'), st.uid, st.gid)
  chmodSync(join(ovl, 'upper'), st.mode & 0o7777)
  return ovl
}
