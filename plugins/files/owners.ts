/**
 * User and group names ↔ ids from /etc/passwd and /etc/group (Node has no getpwuid), cached
 * until the file changes. Ownership is changed only when the caller names an owner or group.
 */
import { chown, lchown, stat } from 'node:fs/promises'
import { readFileSync, statSync } from 'node:fs'
import { badRequest } from '../../core/errors'
import { fsError } from './errors'

interface Table {
  mtimeMs: number
  byId: Map<number, string>
  byName: Map<string, number>
}

const tables = new Map<string, Table>()

function table(file: string, idField: number): Table {
  let mtimeMs = -1
  try {
    mtimeMs = statSync(file).mtimeMs
  } catch {}
  const cached = tables.get(file)
  if (cached && cached.mtimeMs === mtimeMs) return cached
  const byId = new Map<number, string>()
  const byName = new Map<string, number>()
  try {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const fields = line.split(':')
      const id = Number(fields[idField])
      if (!fields[0] || fields[0].startsWith('#') || !Number.isInteger(id)) continue
      if (!byId.has(id)) byId.set(id, fields[0])
      if (!byName.has(fields[0])) byName.set(fields[0], id)
    }
  } catch {}
  const fresh = { mtimeMs, byId, byName }
  tables.set(file, fresh)
  return fresh
}

const users = () => table('/etc/passwd', 2)
const groups = () => table('/etc/group', 2)

/** The name of a uid, or the number as text when it has none (as the reference). */
export const userName = (uid: number): string => users().byId.get(uid) ?? String(uid)
export const groupName = (gid: number): string => groups().byId.get(gid) ?? String(gid)

/** A user given by name or numeric id → uid; unknown → 400. */
export function lookupUser(owner: string): number {
  const id = users().byName.get(owner)
  if (id !== undefined) return id
  if (/^\d+$/.test(owner)) return Number(owner)
  throw badRequest(`unknown user: ${owner}`)
}

export function lookupGroup(group: string): number {
  const id = groups().byName.get(group)
  if (id !== undefined) return id
  if (/^\d+$/.test(group)) return Number(group)
  throw badRequest(`unknown group: ${group}`)
}

export interface Ownership {
  uid?: number
  gid?: number
}

/** Resolves names before any work starts, so a typo fails the request before it changes anything. */
export function ownershipOf(owner?: string, group?: string): Ownership {
  return {
    uid: owner ? lookupUser(owner) : undefined,
    gid: group ? lookupGroup(group) : undefined,
  }
}

/** chown only what was asked for; -1 keeps the other id. Follows symlinks unless `noFollow`. */
export async function applyOwnership(path: string, own: Ownership, noFollow = false): Promise<void> {
  if (own.uid === undefined && own.gid === undefined) return
  try {
    await (noFollow ? lchown : chown)(path, own.uid ?? -1, own.gid ?? -1)
  } catch (err) {
    throw fsError(err, 'chown', path, 'error changing permissions for ')
  }
}

/** uid/gid of an existing file, to carry over to the file that replaces it. */
export async function ownershipOfFile(path: string): Promise<{ uid: number; gid: number; mode: number } | undefined> {
  try {
    const s = await stat(path)
    return { uid: s.uid, gid: s.gid, mode: s.mode & 0o7777 }
  } catch {
    return undefined
  }
}
