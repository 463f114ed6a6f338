/** `POST /files/permissions`: chmod (mode ≠ 0) and chown (only what is named), following symlinks. */
import { chmod, stat } from 'node:fs/promises'
import { fsError } from '../errors'
import { modeFromWire } from '../fileinfo'
import { applyOwnership, ownershipOf } from '../owners'
import type { PathScope } from '../paths'

export interface Permission {
  mode?: number
  owner?: string
  group?: string
}

/**
 * Resolves every path, mode and owner of a request before anything changes: a bad mode or an
 * unknown user fails the whole request with no file touched.
 */
export function planPermissions(scope: PathScope, entries: Record<string, Permission>) {
  return Object.entries(entries).map(([raw, p]) => ({
    raw,
    resolved: scope.resolve(raw, { follow: true }),
    mode: p.mode ? modeFromWire(p.mode) : undefined,
    own: ownershipOf(p.owner, p.group),
  }))
}

export async function setPermissions(scope: PathScope, entries: Record<string, Permission>): Promise<void> {
  const plan = planPermissions(scope, entries)
  for (const { raw, resolved, mode, own } of plan) {
    const context = `error changing permissions for ${raw}. `
    try {
      await stat(resolved.target)
    } catch (err) {
      throw fsError(err, 'stat', resolved.path, context)
    }
    if (mode !== undefined) {
      try {
        await chmod(resolved.target, mode)
      } catch (err) {
        throw fsError(err, 'chmod', resolved.path, context)
      }
    }
    await applyOwnership(resolved.target, own)
  }
}
