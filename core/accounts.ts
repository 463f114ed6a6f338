/**
 * The container's users and groups from /etc/passwd and /etc/group (Bun has no getpwuid), read
 * again only when the file changes: a command with a `uid` and a listing's owner names each
 * read and split the whole file on the event loop, every time.
 */
import { readFileSync, statSync } from 'node:fs'

export interface Account {
  name: string
  id: number
  /** /etc/passwd only: the user's group and home. */
  gid?: number
  home?: string
}

interface Table {
  stamp: string
  byId: Map<number, Account>
  byName: Map<string, Account>
}

const tables = new Map<string, Table>()

function table(file: string): Table {
  let stamp = 'missing'
  try {
    const st = statSync(file)
    stamp = `${st.ino}:${st.size}:${st.mtimeMs}`
  } catch {}
  const cached = tables.get(file)
  if (cached?.stamp === stamp) return cached
  const byId = new Map<number, Account>()
  const byName = new Map<string, Account>()
  try {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const [name, , id, gid, , home] = line.split(':')
      // The first entry of a name or id wins, as getpwnam/getpwuid find them.
      if (!name || name.startsWith('#') || !id || !Number.isInteger(Number(id))) continue
      const account: Account = { name, id: Number(id) }
      if (gid !== undefined && gid !== '' && Number.isInteger(Number(gid))) account.gid = Number(gid)
      if (home !== undefined) account.home = home
      if (!byId.has(account.id)) byId.set(account.id, account)
      if (!byName.has(name)) byName.set(name, account)
    }
  } catch {}
  const fresh = { stamp, byId, byName }
  tables.set(file, fresh)
  return fresh
}

export const users = (): Table => table('/etc/passwd')
export const groups = (): Table => table('/etc/group')
