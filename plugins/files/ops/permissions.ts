/** `POST /files/permissions`: chmod (mode ≠ 0) and chown (only what is named), following symlinks. */
import { changeMode, changeOwner, withEntry } from '../../../core/beneath/entry'
import { fsError } from '../errors'
import { modeFromWire } from '../fileinfo'
import { ownershipOf } from '../../../core/owner-names'
import { entryPath, type PathScope } from '../../../core/beneath/path-scope'

export interface Permission {
  mode?: number
  owner?: string
  group?: string
  /** Names the path by its exact bytes instead of the key. */
  path_base64?: string
}

/**
 * Checks every path, mode and owner of a request before anything changes: an empty path, a
 * bad mode or an unknown or out-of-range owner fails the whole request with nothing touched.
 */
export function planPermissions(scope: PathScope, entries: Record<string, Permission>) {
  return Object.entries(entries).map(([key, p]) => {
    const raw = entryPath(key, p)
    scope.normalise(raw)
    return {
      raw,
      mode: p.mode ? modeFromWire(p.mode) : undefined,
      own: ownershipOf(p.owner, p.group),
    }
  })
}

/**
 * A final symlink is followed beneath the root: the file it leads to changes, the link does
 * not. The change goes through a descriptor of that file, so a link swapped in after the path
 * was resolved is refused rather than followed.
 */
export async function setPermissions(scope: PathScope, entries: Record<string, Permission>): Promise<void> {
  for (const { raw, mode, own } of planPermissions(scope, entries)) {
    const context = `error changing permissions for ${raw}. `
    let step = 'stat'
    try {
      await scope.with(raw, { follow: true }, anchor =>
        withEntry(anchor, async entry => {
          step = 'chmod'
          if (mode !== undefined) await changeMode(entry, mode)
          step = 'chown'
          await changeOwner(entry, own)
        }),
      )
    } catch (err) {
      throw fsError(err, step, raw, context)
    }
  }
}
