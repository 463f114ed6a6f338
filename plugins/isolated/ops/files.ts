/**
 * The files section's operations seen from inside a session: a `PathScope` whose paths are
 * the session's (absolute, or relative to its workspace) and which walks them beneath
 * `/proc/<sandbox init>/root/<workspace>`. That magic link is the session's root in the
 * session's own mount namespace, so what is read and written is exactly what the shell sees:
 * the bind of a rw or ro workspace, the merged view of an overlay (an upload lands in the
 * overlay, not in the real workspace). The walk is the files section's race-free one
 * (beneath.ts): each component is opened beneath the held directory with O_NOFOLLOW and a
 * symlink is resolved there, so nothing leads out of the workspace, not even a link the
 * session planted. The view is confined to the workspace, the one place both sides share.
 */
import { resolve } from 'node:path'
import { badRequest } from '../../../core/errors'
import {
  Anchor,
  BytePath,
  OutsideRoot,
  PathChanged,
  PathScope,
  openDirectory,
  walkBeneath,
  type RawPath,
  type WalkOptions,
} from '../../files/contract'

const fatal = new TextDecoder('utf-8', { fatal: true })

export class SessionScope extends PathScope {
  /**
   * @param workspace the session's workspace (the same path inside and on the host)
   * @param at        the path that opens it as the session sees it (`/proc/<pid>/root<workspace>`)
   */
  constructor(
    readonly workspace: string,
    private readonly at: string,
  ) {
    super(undefined, workspace)
  }

  override normalise(raw: RawPath): string {
    let path: string
    if (raw instanceof BytePath) {
      // Exact bytes are taken literally, as the files section does; only UTF-8 names here.
      let text: string
      try {
        text = fatal.decode(raw.bytes)
      } catch {
        throw badRequest(`invalid path_base64: an isolated session's paths must be UTF-8: ${raw}`)
      }
      if (text === '' || text.includes('\0')) throw badRequest(`invalid path: ${raw}`)
      path = resolve(this.workspace, text)
    } else path = super.normalise(raw)
    if (path !== this.workspace && !path.startsWith(this.workspace + '/')) {
      throw badRequest(`path is outside the session's workspace ${this.workspace}: ${raw}`)
    }
    return path
  }

  override anchor(raw: RawPath, opts: WalkOptions = {}): Anchor {
    const path = this.normalise(raw)
    const parts = path.slice(this.workspace.length).split('/').filter(Boolean)
    let walked
    try {
      const above = this.workspace.split('/').filter(Boolean).length
      walked = walkBeneath(this.at, true, openDirectory(this.at), parts, opts, above)
    } catch (err) {
      if (err instanceof OutsideRoot)
        throw badRequest(`path is outside the session's workspace ${this.workspace}: ${raw}`)
      if (err instanceof PathChanged) throw badRequest(`path changed while it was being resolved: ${raw}`)
      throw err
    }
    return new Anchor(walked.dir, walked.name, String(raw), path, walked.created)
  }
}
