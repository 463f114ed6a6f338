/**
 * What a sql context runs statements on: the embedded SQLite (bun:sqlite) or a PostgreSQL /
 * MySQL server through Bun's SQL client, both in a child process (child.ts). Each `execute`
 * runs one statement and says whether it returned rows (a table) or changed rows (a count).
 */
import { isAbsolute, join } from 'node:path'
import { ChildDatabase } from './child'
import type { Table } from './format'
import type { ServerVersion } from './lex'
import type { Dialect } from './split'

/** `tables`: a statement's several result sets (a MySQL CALL's), `more` of them not shown. */
export type Outcome = { table: Table } | { affected: number } | { tables: Table[]; more: number }

export interface Database {
  readonly dialect: Dialect
  /** Where the data lives, for messages (a DSN without its password). */
  readonly description: string
  /** A MySQL-protocol server's version, for its executable comments; absent: not known. */
  readonly server?: ServerVersion
  /** False once the database is lost with its process; absent: always true. */
  readonly alive?: boolean
  /** `keyword`: its first (split.ts firstKeyword), which says whether it is a query to bound. */
  execute(stmt: string, keyword: string, maxRows: number, interrupted: () => boolean): Promise<Outcome>
  /** Best effort: cancels the statement in flight where the driver can. */
  cancel(): void
  close(): Promise<void>
}

/** `:memory:`, a file path (relative to `cwd`), or a postgres:// / mysql:// DSN. */
export async function openDatabase(target: string, cwd: string): Promise<Database> {
  if (/^(postgres(ql)?|mysql|mariadb):\/\//i.test(target)) {
    const description = redactDsn(target)
    const dialect = /^(mysql|mariadb):/i.test(target) ? 'mysql' : 'postgres'
    return ChildDatabase.open({ dsn: target, description, dialect })
  }
  const path = target === '' || target === ':memory:' ? ':memory:' : isAbsolute(target) ? target : join(cwd, target)
  return ChildDatabase.open({ path })
}

export class Interrupted extends Error {
  constructor(message = 'execution stopped by interrupt') {
    super(message)
  }
}

/** A DSN fit for messages and listings: the password replaced. */
export function redactDsn(dsn: string): string {
  try {
    const url = new URL(dsn)
    if (url.password) url.password = '***'
    return url.toString()
  } catch {
    return dsn.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@')
  }
}
