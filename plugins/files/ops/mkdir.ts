/** `POST /directories`: mkdir -p, then mode and owner of the leaf when given. */
import { chmod, mkdir, stat } from 'node:fs/promises'
import { badRequest } from '../../../core/errors'
import { fsError } from '../errors'
import { applyOwnership } from '../owners'
import type { PathScope } from '../paths'
import { planPermissions, type Permission } from './permissions'

export async function makeDirectories(scope: PathScope, entries: Record<string, Permission>): Promise<void> {
  const plan = planPermissions(scope, entries)
  for (const { raw, resolved, mode, own } of plan) {
    try {
      await mkdir(resolved.target, { recursive: true })
    } catch (err) {
      throw fsError(err, 'mkdir', resolved.path)
    }
    // mkdir -p succeeds silently on an existing path; make sure it is a directory.
    const s = await stat(resolved.target).catch(err => {
      throw fsError(err, 'stat', resolved.path)
    })
    if (!s.isDirectory()) throw badRequest(`error accessing file: mkdir ${raw}: not a directory`)
    // mkdir's mode is filtered by the umask; an explicit mode is applied as given.
    if (mode !== undefined) {
      await chmod(resolved.target, mode).catch(err => {
        throw fsError(err, 'chmod', resolved.path)
      })
    }
    await applyOwnership(resolved.target, own)
  }
}
