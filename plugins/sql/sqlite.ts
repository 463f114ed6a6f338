/**
 * The embedded SQLite of a sql context, run by sqlite-worker.js in a Worker thread. An
 * interrupt is a flag in shared memory the worker reads between rows; a statement that never
 * yields (one long step) is cut by `close()`, which terminates the worker and loses an
 * in-memory database (the thread itself ends when SQLite returns: bun:sqlite offers no
 * sqlite3_interrupt).
 */
import { within } from '../../core/timers'
import type { Database, Outcome } from './database'
import { Interrupted } from './database'
import { toCell } from './format'
import source from './sqlite-worker.js' with { type: 'text' }

type Reply = {
  id: number
  ok: boolean
  version?: string
  outcome?: any
  error?: { message: string; code?: string; interrupted?: boolean }
}

let workerUrl: string | undefined

export class SqliteDatabase implements Database {
  readonly dialect = 'sqlite'
  description = ''
  private readonly worker: Worker
  private readonly flag = new Int32Array(new SharedArrayBuffer(4))
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>()
  private next = 0
  private closed = false

  private constructor(private readonly path: string) {
    workerUrl ??= URL.createObjectURL(new Blob([source], { type: 'application/javascript' }))
    this.worker = new Worker(workerUrl, { type: 'module' } as WorkerOptions)
    this.worker.onmessage = (e: MessageEvent<Reply>) => {
      const p = this.pending.get(e.data.id)
      this.pending.delete(e.data.id)
      p?.resolve(e.data)
    }
    this.worker.onerror = (e: ErrorEvent) => this.fail(new Error(`the SQLite worker failed: ${e.message}`))
  }

  static async open(path: string): Promise<SqliteDatabase> {
    const db = new SqliteDatabase(path)
    const reply = await db.request({ op: 'open', path, flag: db.flag.buffer })
    if (!reply.ok) {
      await db.close()
      throw new Error(`cannot open SQLite database ${path}: ${reply.error?.message}`)
    }
    db.description = `SQLite ${reply.version} ${path === ':memory:' ? 'in memory' : `file ${path}`}`
    return db
  }

  async execute(stmt: string, maxRows: number): Promise<Outcome> {
    Atomics.store(this.flag, 0, 0)
    const reply = await this.request({ op: 'exec', stmt, maxRows })
    if (!reply.ok) {
      if (reply.error?.interrupted) throw new Interrupted()
      throw Object.assign(new Error(reply.error?.message ?? 'SQLite failed'), { code: reply.error?.code })
    }
    const o = reply.outcome
    if ('affected' in o) return { affected: o.affected }
    return {
      table: {
        columns: o.columns,
        rows: o.rows.map((r: unknown[]) => r.map(toCell)),
        truncated: o.truncated || undefined,
      },
    }
  }

  cancel(): void {
    Atomics.store(this.flag, 0, 1)
  }

  async close(): Promise<void> {
    if (this.closed) return
    // Idle: let the worker close the database cleanly first. Busy: cut it off.
    if (this.pending.size === 0) {
      await within(
        this.request({ op: 'close' }).catch(() => {}),
        2000,
      )
    }
    this.closed = true
    this.worker.terminate()
    const lost =
      this.path === ':memory:' ? 'the in-memory database is lost' : `the file ${this.path} keeps what was committed`
    this.fail(new Interrupted(`the SQLite worker was stopped mid-statement; ${lost}`))
  }

  private request(message: Record<string, unknown>): Promise<Reply> {
    if (this.closed) return Promise.reject(new Error('the database is closed'))
    const id = ++this.next
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.worker.postMessage({ id, ...message })
    })
  }

  private fail(e: Error): void {
    for (const p of this.pending.values()) p.reject(e)
    this.pending.clear()
  }
}
