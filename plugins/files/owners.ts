/**
 * User and group names ↔ ids (core/accounts.ts). Ownership is changed only when the caller
 * names an owner or group.
 */
import { groups, users, type Account } from '../../core/accounts'
import { badRequest } from '../../core/errors'

/** The name of a uid, or the number as text when it has none (as the reference). */
export const userName = (uid: number): string => users().byId.get(uid)?.name ?? String(uid)
export const groupName = (gid: number): string => groups().byId.get(gid)?.name ?? String(gid)

/** Largest id chown(2) takes: 2³²−1 is (uid_t)−1, "leave unchanged". */
const MAX_ID = 2 ** 32 - 2

/** A name first, then a numeric id in 0..2³²−2; anything else is a 400 before any work starts. */
function lookupId(kind: 'user' | 'group', value: string, byName: Map<string, Account>): number {
  const id = byName.get(value)?.id
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
