/**
 * What a sql context runs statements on: the embedded SQLite (bun:sqlite) or a PostgreSQL /
 * MySQL server through Bun's SQL client. Each `execute` runs one statement and says whether
 * it returned rows (a table) or changed rows (a count).
 */
import { SQL } from 'bun'
import { isAbsolute, join } from 'node:path'
import type { Dialect } from './split'
import { toCell, type Table } from './format'
import { SqliteDatabase } from './sqlite'

export type Outcome = { table: Table } | { affected: number }

export interface Database {
  readonly dialect: Dialect
  /** Where the data lives, for messages (a DSN without its password). */
  readonly description: string
  /** False once the database is lost with its process (embedded SQLite); absent: always true. */
  readonly alive?: boolean
  execute(stmt: string, maxRows: number, interrupted: () => boolean): Promise<Outcome>
  /** Best effort: cancels the statement in flight where the driver can. */
  cancel(): void
  close(): Promise<void>
}

/** `:memory:`, a file path (relative to `cwd`), or a postgres:// / mysql:// DSN. */
export async function openDatabase(target: string, cwd: string): Promise<Database> {
  if (/^(postgres(ql)?|mysql|mariadb):\/\//i.test(target)) return ServerDatabase.connect(target)
  const path = target === '' || target === ':memory:' ? ':memory:' : isAbsolute(target) ? target : join(cwd, target)
  return SqliteDatabase.open(path)
}

class ServerDatabase implements Database {
  readonly dialect: Dialect
  private inflight: { cancel(): unknown } | undefined

  private constructor(
    private readonly sql: SQL,
    readonly description: string,
  ) {
    this.dialect = /^(mysql|mariadb):/i.test(description) ? 'mysql' : 'postgres'
  }

  static async connect(dsn: string): Promise<ServerDatabase> {
    // One connection: session state (SET, temporary tables, transactions) lasts the context.
    // bigint: int8 as BigInt, which toCell turns into a number when it fits.
    const sql = new SQL(dsn, { max: 1, bigint: true })
    const db = new ServerDatabase(sql, redactDsn(dsn))
    try {
      await sql.unsafe('SELECT 1')
    } catch (e) {
      await sql.close({ timeout: 0 })
      throw new Error(`cannot connect to ${db.description}: ${(e as Error).message}`)
    }
    return db
  }

  async execute(stmt: string, maxRows: number): Promise<Outcome> {
    const query = this.sql.unsafe(stmt).values()
    this.inflight = query
    try {
      const result = (await query) as unknown as unknown[][] & SQL.ResultMetadata
      const columns = (result.columns ?? []).map(c => c.name)
      if (columns.length === 0) return { affected: Number(result.affectedRows ?? result.count ?? 0) }
      const rows = result.slice(0, maxRows).map(r => r.map(toCell))
      return { table: { columns, rows, truncated: result.length > maxRows || undefined } }
    } finally {
      this.inflight = undefined
    }
  }

  cancel(): void {
    this.inflight?.cancel()
  }

  async close(): Promise<void> {
    await this.sql.close({ timeout: 1 })
  }
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
