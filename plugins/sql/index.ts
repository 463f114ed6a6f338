/**
 * The sql runtime: a context is a database. Embedded SQLite by default (bun:sqlite, in
 * memory or a file under the context's cwd), or a PostgreSQL / MySQL server through Bun's SQL
 * client when a DSN is configured; `.open <file|dsn>` switches one context. Runs in process.
 */
import { Database } from 'bun:sqlite'
import type { LanguageInfo, Runtime } from '../../core/plugin'
import { SqlContext } from './context'
import { redactDsn } from './database'

export const sql: Runtime = {
  name: 'sql',
  options: [
    {
      flag: 'sql-dsn',
      env: 'EXECD_SQL_DSN',
      description: 'postgres://… or mysql://… server for sql contexts (default: embedded SQLite)',
      secret: true,
    },
    {
      flag: 'sql-file',
      env: 'EXECD_SQL_FILE',
      description: "SQLite file for each sql context, relative to the context's cwd (default: in memory)",
    },
    {
      flag: 'sql-max-rows',
      env: 'EXECD_SQL_MAX_ROWS',
      description: 'rows of one SELECT returned at most; the result says when it was cut',
      default: '10000',
    },
  ],

  async languages(config): Promise<LanguageInfo[]> {
    const dsn = config.get('sql-dsn')
    if (dsn) return [{ language: 'sql', available: true, detail: `${redactDsn(dsn)} via Bun.SQL` }]
    const file = config.get('sql-file')
    const where = file ? `file ${file} under the context's cwd` : 'in memory'
    return [{ language: 'sql', available: true, detail: `SQLite ${sqliteVersion()} via bun:sqlite, ${where}` }]
  },

  async start(opts) {
    if (opts.language !== 'sql') throw new Error(`the sql runtime does not serve '${opts.language}'`)
    return SqlContext.start({
      cwd: opts.cwd,
      target: opts.config.get('sql-dsn') || opts.config.get('sql-file') || ':memory:',
      maxRows: opts.config.int('sql-max-rows', 10000),
    })
  },
}

let version: string | undefined
function sqliteVersion(): string {
  if (!version) {
    const db = new Database(':memory:')
    version = (db.query('SELECT sqlite_version() AS v').get() as { v: string }).v
    db.close()
  }
  return version
}
