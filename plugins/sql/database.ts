/**
 * What a sql context runs statements on: the embedded SQLite (bun:sqlite) or a PostgreSQL /
 * MySQL server through Bun's SQL client. Each `execute` runs one statement and says whether
 * it returned rows (a table) or changed rows (a count).
 */
import { Database as SQLite, type Statement } from 'bun:sqlite'
import { SQL } from 'bun'
import { isAbsolute, join } from 'node:path'
import type { Dialect } from './split'
import { toCell, type Cell, type Table } from './format'

export type Outcome = { table: Table } | { affected: number }

export interface Database {
  readonly dialect: Dialect
  /** Where the data lives, for messages (a DSN without its password). */
  readonly description: string
  execute(stmt: string, maxRows: number, interrupted: () => boolean): Promise<Outcome>
  /** Best effort: cancels the statement in flight where the driver can. */
  cancel(): void
  close(): Promise<void>
}

/** `:memory:`, a file path (relative to `cwd`), or a postgres:// / mysql:// DSN. */
export async function openDatabase(target: string, cwd: string): Promise<Database> {
  if (/^(postgres(ql)?|mysql|mariadb):\/\//i.test(target)) return ServerDatabase.connect(target)
  const path = target === '' || target === ':memory:' ? ':memory:' : isAbsolute(target) ? target : join(cwd, target)
  return new SqliteDatabase(path)
}

/** Rows between two yields to the event loop, so an interrupt can land in a long SELECT. */
const YIELD_EVERY = 500

class SqliteDatabase implements Database {
  readonly dialect = 'sqlite'
  readonly description: string
  private readonly db: SQLite

  constructor(path: string) {
    this.db = new SQLite(path, { create: true, safeIntegers: true })
    const version = this.db.query('SELECT sqlite_version() AS v').get() as { v: string }
    this.description = `SQLite ${version.v} ${path === ':memory:' ? 'in memory' : `file ${path}`}`
  }

  async execute(stmt: string, maxRows: number, interrupted: () => boolean): Promise<Outcome> {
    const prepared = this.db.prepare(stmt)
    try {
      if (prepared.columnNames.length === 0) return { affected: Number(prepared.run().changes) }
      return { table: await this.rows(prepared, maxRows, interrupted) }
    } finally {
      prepared.finalize()
    }
  }

  private async rows(stmt: Statement, maxRows: number, interrupted: () => boolean): Promise<Table> {
    const columns = stmt.columnNames
    // Row objects lose repeated column names (SELECT 1 AS a, 2 AS a); only then take every row at once.
    if (new Set(columns).size !== columns.length) {
      const all = stmt.values()
      return { columns, rows: all.slice(0, maxRows).map(r => r.map(toCell)), truncated: all.length > maxRows || undefined }
    }
    const rows: Cell[][] = []
    for (const row of stmt.iterate() as IterableIterator<Record<string, unknown>>) {
      if (rows.length === maxRows) return { columns, rows, truncated: true }
      rows.push(columns.map(c => toCell(row[c])))
      if (rows.length % YIELD_EVERY === 0) {
        await new Promise(r => setImmediate(r))
        if (interrupted()) throw new Interrupted()
      }
    }
    return { columns, rows }
  }

  cancel(): void {
    // bun:sqlite has no sqlite3_interrupt; long SELECTs check between batches of rows.
  }

  async close(): Promise<void> {
    this.db.close(false)
  }
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
  constructor() {
    super('execution stopped by interrupt')
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
