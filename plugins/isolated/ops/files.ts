/**
 * The files section's operations seen from inside a session: a `PathScope` whose paths are
 * the session's (absolute, or relative to its workspace) and which walks them beneath
 * `/proc/<sandbox init>/root/<workspace>`. That magic link is the session's root in the
 * session's own mount namespace, so what is read and written is exactly what the shell sees:
 * the bind of a rw or ro workspace, the merged view of an overlay (an upload lands in the
 * overlay, not in the real workspace). The walk is the race-free one the files section uses
 * (core/beneath/walk.ts): each component is opened beneath the held directory with O_NOFOLLOW and a
 * symlink is resolved there, so nothing leads out of the workspace, not even a link the
 * session planted. The view is confined to the workspace, the one place both sides share.
 *
 * The workspace's own path is the session's too: its root is a tmpfs its uid 0 owns, so its
 * shell can move the workspace's parent aside and leave a symlink where the workspace was. The
 * kernel follows such a link in execd's root (the host's `/`, read and written with execd's
 * rights), so the path to the workspace is opened component by component without following
 * any (held once per sandbox: held-workspace.ts), and a `..` or an absolute link inside starts
 * over from that held directory, never from the path again.
 */
import { resolve } from 'node:path'
import { badRequest } from '../../../core/errors'
import { BytePath, PathScope, type RawPath } from '../../../core/beneath/path-scope'
import {
  Anchor,
  OutsideRoot,
  PathChanged,
  openDirectory,
  openExact,
  reopenDirectory,
  walkBeneath,
  type WalkOptions,
} from '../../../core/beneath/walk'
import type { HeldWorkspace } from './held-workspace'

const fatal = new TextDecoder('utf-8', { fatal: true })
const componentsOf = (path: string) => path.split('/').filter(Boolean)

/**
 * The directory at `path` as the session sees it, from its root (`/proc/<sandbox init>/root`)
 * without following any link: OutsideRoot where a component is a link or a file.
 */
export const openWorkspace = (sessionRoot: string, path: string): number =>
  openExact(openDirectory(sessionRoot), componentsOf(path))

/** `rel`, a directory in the workspace held as `fd`, opened without following any link. */
export const openBeneath = (fd: number, rel: string): number => openExact(reopenDirectory(fd), componentsOf(rel))

export class SessionScope extends PathScope {
  readonly workspace: string

  /** @param held the session's workspace, held for its sandbox (held-workspace.ts) */
  constructor(private readonly held: HeldWorkspace) {
    super(undefined, held.path)
    this.workspace = held.path
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
    const above = componentsOf(this.workspace)
    let start: number
    try {
      start = this.held.open()
    } catch (err) {
      if (!(err instanceof OutsideRoot)) throw err
      throw badRequest(`the session's workspace ${this.workspace} is no longer a directory in the session: ${raw}`)
    }
    let walked
    try {
      // A `..` or an absolute link starts over from the workspace as the session shows it then.
      const root = { path: this.workspace, open: () => this.held.open() }
      walked = walkBeneath(root, true, start, parts, opts, above.length)
    } catch (err) {
      if (err instanceof OutsideRoot)
        throw badRequest(`path is outside the session's workspace ${this.workspace}: ${raw}`)
      if (err instanceof PathChanged) throw badRequest(`path changed while it was being resolved: ${raw}`)
      throw err
    }
    return new Anchor(walked.dir, walked.name, String(raw), path, walked.created)
  }
}
