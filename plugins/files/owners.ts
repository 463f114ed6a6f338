/**
 * User and group names ↔ ids from /etc/passwd and /etc/group (Node has no getpwuid), cached
 * until the file changes. Ownership is changed only when the caller names an owner or group.
 */
import { readFileSync, statSync } from 'node:fs'
import { badRequest } from '../../core/errors'

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

/** Largest id chown(2) takes: 2³²−1 is (uid_t)−1, "leave unchanged". */
const MAX_ID = 2 ** 32 - 2

/** A name first, then a numeric id in 0..2³²−2; anything else is a 400 before any work starts. */
function lookupId(kind: 'user' | 'group', value: string, byName: Map<string, number>): number {
  const id = byName.get(value)
  if (id !== undefined) return id
  if (/^\d+$/.test(value)) {
    if (Number(value) <= MAX_ID) return Number(value)
    throw badRequest(`invalid ${kind} id: ${value} (0..${MAX_ID})`)
  }
  throw badRequest(`unknown ${kind}: ${value}`)
}

/** A user given by name or numeric id → uid; unknown or out of range → 400. */
export const lookupUser = (owner: string): number => lookupId('user', owner, users().byName)
const lookupGroup = (group: string): number => lookupId('group', group, groups().byName)

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
