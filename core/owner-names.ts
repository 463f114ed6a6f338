/**
 * User and group names ↔ ids (core/accounts.ts). Ownership is changed only when the caller
 * names an owner or group.
 */
import { groups, users, type Account } from './accounts'
import { badRequest } from './errors'

/** Names of uids and gids, or the number as text when one has none (as the reference). */
export interface AccountNames {
  user(uid: number): string
  group(gid: number): string
}

/** The names as the account files say now: each call stats them (a listing asks once a batch). */
export function accountNames(): AccountNames {
  const byUid = users().byId
  const byGid = groups().byId
  return {
    user: uid => byUid.get(uid)?.name ?? String(uid),
    group: gid => byGid.get(gid)?.name ?? String(gid),
  }
}

/** Largest id chown(2) takes: 2³²−1 is (uid_t)−1, "leave unchanged". */
export const MAX_ID = 2 ** 32 - 2

/** A name first, then a numeric id in 0..2³²−2; anything else is a 400 before any work starts. */
function lookupId(kind: 'user' | 'group', value: string, byName: Map<string, Account>): number {
  const id = byName.get(value)?.id
  if (id !== undefined) return id
  if (/^\d+$/.test(value)) return checkedId(kind, value)
  throw badRequest(`unknown ${kind}: ${value}`)
}

/**
 * A numeric id in range, or the 400 a typo gets: what the text alone tells (`execd fs chmod
 * --owner 99999999999` checks it before asking; no account's name is all digits, as useradd
 * refuses them).
 */
export function checkedId(kind: 'user' | 'group', digits: string): number {
  if (Number(digits) <= MAX_ID) return Number(digits)
  throw badRequest(`invalid ${kind} id: ${digits} (0..${MAX_ID})`)
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
