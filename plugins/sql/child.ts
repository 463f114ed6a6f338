/**
 * The database of a sql context — embedded SQLite or a server's connection — run by driver.js
 * in a child process of execd (the execd executable acting as Bun), owned like every
 * interpreter: own process group and cgroup, killed and reaped. An interrupt is a message: the
 * driver reads it between SQLite rows, or cancels the server's query; a statement that never
 * yields (one long SQLite step) is cut by `close()`, which kills the child and loses an
 * in-memory database (a file keeps what was committed, a server what was committed). A Worker
 * thread could not be stopped there: bun:sqlite has no sqlite3_interrupt, and the thread kept a
 * core busy for as long as execd lived; a server's whole result loaded into execd itself.
 */
import { join } from 'node:path'
import { childEnv } from '../../core/child-env'
import { PrivateFiles } from '../../core/private-files'
import { spawnOwned, type OwnedProcess } from '../../core/process'
import { asBunEnv, SELF_EXECUTABLE } from '../../core/self-exec'
import { describeExit } from '../../core/exit-words'
import { MESSAGE_PIECE } from '../../core/channel-writes'
import { nextTurn, within } from '../../core/timers'
import type { Database, Outcome } from './database'
import type { Table } from './format'
import { Interrupted } from './database'
import { serverVersion, type ServerVersion } from './lex'
import type { Dialect } from './split'
import cells from './cells.js' with { type: 'text' }
import mysql from './mysql.js' with { type: 'text' }
import mysqlWire from './mysql-wire.js' with { type: 'text' }
import sqlite from './sqlite.js' with { type: 'text' }
import statements from './statements.js' with { type: 'text' }
import source from './driver.js' with { type: 'text' }

type Reply = {
  id: number
  ok: boolean
  version?: string
  outcome?: any
  error?: { message: string; code?: string; errno?: string; detail?: string; hint?: string; interrupted?: boolean }
}

/** What the child opens: a SQLite file (or `:memory:`), or a server by its DSN. */
export type Target = { path: string } | { dsn: string; description: string; dialect: Dialect }

/** How long the child may take to start and open its database (a server: connect). */
const START_TIMEOUT_MS = 15_000

/** The driver on disk for the child, its module beside it (a private temp dir, once per execd process). */
const files = new PrivateFiles('execd-sql', {
  'sql-driver.js': source,
  'cells.js': cells,
  'mysql.js': mysql,
  'mysql-wire.js': mysqlWire,
  'sqlite.js': sqlite,
  'statements.js': statements,
})
// Reached through execd's descriptor: the child runs the driver written, not what is at its name by then.
const driverFile = async (): Promise<string> => join(await files.reached(), 'sql-driver.js')

export class ChildDatabase implements Database {
  readonly dialect: Dialect
  description = ''
  server: ServerVersion | undefined
  private proc!: OwnedProcess
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>()
  private ready!: { resolve: () => void; reject: (e: Error) => void }
  private next = 0
  private closed = false
  private gone: Error | undefined

  private constructor(private readonly target: Target) {
    this.dialect = 'dsn' in target ? target.dialect : 'sqlite'
  }

  static async open(target: Target): Promise<ChildDatabase> {
    const db = new ChildDatabase(target)
    const server = 'dsn' in target
    try {
      await db.spawn()
      const request = server ? { op: 'connect', dsn: target.dsn } : { op: 'open', path: target.path }
      const reply = await within(db.request(request), START_TIMEOUT_MS)
      if (reply === 'timeout') throw new Error(`the ${db.kind} did not answer within ${START_TIMEOUT_MS} ms`)
      if (!reply.ok) throw new Error(reply.error?.message)
      if (db.dialect === 'mysql') db.server = serverVersion(reply.version ?? '')
      db.description = server
        ? target.description
        : `SQLite ${reply.version} ${target.path === ':memory:' ? 'in memory' : `file ${target.path}`}`
      return db
    } catch (e) {
      await db.close()
      const what = server ? `connect to ${target.description}` : `open SQLite database ${target.path}`
      throw new Error(`cannot ${what}: ${(e as Error).message}`, { cause: e })
    }
  }

  /** The child as messages name it. */
  private get kind(): string {
    return 'dsn' in this.target ? 'SQL client process' : 'SQLite process'
  }

  /** What a lost child takes with it, for the cell's message. */
  private get lost(): string {
    const t = this.target
    if ('dsn' in t) return 'the server session ended (its temporary tables and open transaction with it)'
    return t.path === ':memory:' ? 'the in-memory database is lost' : `the file ${t.path} keeps what was committed`
  }

  private async spawn(): Promise<void> {
    const driver = await driverFile()
    const started = new Promise<void>((resolve, reject) => (this.ready = { resolve, reject }))
    // No cwd of the context's: the path comes absolute (or :memory:), and a cwd deleted later
    // must not matter. Output of the driver itself (a crash) goes nowhere useful: dropped.
    this.proc = spawnOwned([SELF_EXECUTABLE, '--no-install', driver], {
      env: asBunEnv(childEnv()),
      stdin: 'ignore',
      stdout: 'ignore',
      stderr: 'ignore',
      ipc: m => this.onMessage(m as Reply & { ready?: boolean }),
    })
    void this.proc.exited.then(info => {
      const lost = this.lost
      this.ready.reject(new Error(`the ${this.kind} exited at start (${describeExit(info)})`))
      // Stopped by execd (an interrupt escalated, DELETE): the cell was interrupted. Died on
      // its own (a kill from outside, out of memory): the statement failed, and `alive` tells
      // the code section to start a fresh context that reports the state lost.
      this.gone = this.closed
        ? new Interrupted(`the ${this.kind} was stopped by execd mid-statement; ${lost}`)
        : new Error(`the ${this.kind} died (${describeExit(info)}); ${lost}`)
      this.fail(this.gone)
    })
    const timer = setTimeout(
      () => this.ready.reject(new Error(`the ${this.kind} did not start within ${START_TIMEOUT_MS} ms`)),
      START_TIMEOUT_MS,
    )
    try {
      await started
    } finally {
      clearTimeout(timer)
    }
  }

  /** False once the child is gone: the database went with it (or is closed). */
  get alive(): boolean {
    return !this.gone && !this.closed
  }

  async execute(stmt: string, keyword: string, maxRows: number): Promise<Outcome> {
    // A long statement goes ahead in pieces, the event loop let turn between them: Bun's IPC
    // serialised a 16 MiB one in one go, holding the loop 150-230 ms.
    let rest = 0
    for (; stmt.length - rest > MESSAGE_PIECE; rest += MESSAGE_PIECE) {
      // A piece not taken (the child gone) must not leave the exec to run what came before it.
      if (!this.alive || !this.send({ op: 'piece', text: stmt.slice(rest, rest + MESSAGE_PIECE) }))
        throw (
          this.gone ?? new Error(this.closed ? 'the database is closed' : 'the SQL process did not take the statement')
        )
      await nextTurn()
    }
    const reply = await this.request({ op: 'exec', stmt: rest > 0 ? stmt.slice(rest) : stmt, maxRows, keyword })
    if (!reply.ok) {
      const { message, interrupted, ...details } = reply.error ?? { message: 'the statement failed' }
      if (interrupted) throw new Interrupted()
      throw Object.assign(new Error(message), details)
    }
    const o = reply.outcome
    if ('affected' in o) return { affected: o.affected }
    if ('tables' in o) return { tables: o.tables.map(tableOf), more: o.more }
    return { table: tableOf(o) }
  }

  cancel(): void {
    if (this.pending.size > 0) this.send({ op: 'interrupt' })
  }

  async close(): Promise<void> {
    if (this.closed) return
    // Idle: let the child close the database cleanly first. Busy: cut it off.
    if (this.pending.size === 0 && !this.gone && this.proc) {
      await within(
        this.request({ op: 'close' }).catch(() => {}),
        2000,
      )
    }
    this.closed = true
    await this.proc?.kill('close', 500)
  }

  private onMessage(m: Reply & { ready?: boolean }): void {
    if (m?.ready) return this.ready.resolve()
    const p = this.pending.get(m?.id)
    this.pending.delete(m?.id)
    p?.resolve(m)
  }

  private send(message: Record<string, unknown>): boolean {
    try {
      this.proc.proc.send(message)
      return true
    } catch {
      return false
    }
  }

  private request(message: Record<string, unknown>): Promise<Reply> {
    if (this.closed) return Promise.reject(new Error('the database is closed'))
    if (this.gone) return Promise.reject(this.gone)
    const id = ++this.next
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      // A child gone between requests: its exit handler rejects this one with the cause.
      this.send({ id, ...message })
    })
  }

  private fail(e: Error): void {
    for (const p of this.pending.values()) p.reject(e)
    this.pending.clear()
  }
}

const tableOf = (o: Table): Table => ({ columns: o.columns, rows: o.rows, truncated: o.truncated || undefined })

/** Removes the driver's dir now (tests); the next context writes it again. */
export const removeDriverFile = (): Promise<void> => files.remove()
