/**
 * The sql runtime: a context is a database. Embedded SQLite by default (bun:sqlite, in
 * memory or a file under the context's cwd), or a PostgreSQL / MySQL server through Bun's SQL
 * client when a DSN is configured; `.open <file|dsn>` switches one context. Either runs in a
 * child process (child.ts): neither a stuck SQLite step nor a server's huge result reaches execd.
 */
import { optionSpecs, settingsOf, type Config } from '../../core/config'
import type { LanguageInfo, Runtime, RuntimeContext, StartOptions } from '../../core/plugin'
import { OPTIONS } from './options'

class SqlRuntime implements Runtime {
  readonly name = 'sql'
  readonly options = optionSpecs(OPTIONS)
  /** The embedded SQLite's version, asked once per app. */
  private version: string | undefined

  open(): Runtime {
    return new SqlRuntime()
  }

  async languages(config: Config): Promise<LanguageInfo[]> {
    const { dsn, file } = settingsOf(config, OPTIONS)
    // The database modules (bun:sqlite, Bun's SQL client) load when sql is first asked for, not at start.
    if (dsn) {
      const { redactDsn } = await import('./database')
      return [{ language: 'sql', available: true, detail: `${redactDsn(dsn)} via Bun.SQL` }]
    }
    const where = file ? `file ${file} under the context's cwd` : 'in memory'
    return [{ language: 'sql', available: true, detail: `SQLite ${this.sqliteVersion()} via bun:sqlite, ${where}` }]
  }

  async start(opts: StartOptions): Promise<RuntimeContext> {
    if (opts.language !== 'sql') throw new Error(`the sql runtime does not serve '${opts.language}'`)
    const { dsn, file, maxRows } = settingsOf(opts.config, OPTIONS)
    const { SqlContext } = await import('./context')
    return SqlContext.start({ cwd: opts.cwd, target: dsn || file || ':memory:', maxRows })
  }

  private sqliteVersion(): string {
    if (!this.version) {
      const { Database } = require('bun:sqlite') as typeof import('bun:sqlite')
      const db = new Database(':memory:')
      this.version = (db.query('SELECT sqlite_version() AS v').get() as { v: string }).v
      db.close()
    }
    return this.version
  }
}

/** The template in the runtime list; each app opens its own instance (`open`). */
export const sql: Runtime = new SqlRuntime()
