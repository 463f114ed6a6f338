/**
 * One sql context: a database connection (in a child process, child.ts). A cell is a script of
 * statements run in order; each SELECT-like statement is a table result (a CALL of a procedure
 * that SELECTs: its result sets, one each), every other one an `affected_rows` result; the first
 * failure ends the cell. Lines starting with `.open` at the top of a cell switch this context to
 * another database, as in the sqlite3 shell.
 */
import { clip } from '../../core/errors'
import { errorEvent, makeEvent, type ExecEvent } from '../../core/events'
import type { RuntimeContext } from '../../core/plugin'
import { nextTurn, within } from '../../core/timers'
import { Interrupted, openDatabase, type Database } from './database'
import { affectedBundle, tableBundle } from './format'
import { firstKeyword, statementsOf } from './split'

interface SqlContextOptions {
  cwd: string
  /** `:memory:`, a file under cwd, or a DSN. */
  target: string
  maxRows: number
}

const READS = new Set(['SELECT', 'WITH', 'VALUES', 'TABLE', 'PRAGMA', 'EXPLAIN', 'SHOW', 'DESCRIBE', 'DESC'])

export class SqlContext implements RuntimeContext {
  private count = 0
  private stopping = false
  private running: Promise<void> | undefined
  private closed = false

  private constructor(
    private db: Database,
    private readonly opts: SqlContextOptions,
  ) {}

  static async start(opts: SqlContextOptions): Promise<SqlContext> {
    return new SqlContext(await openDatabase(opts.target, opts.cwd), opts)
  }

  get alive(): boolean {
    return !this.closed && this.db.alive !== false
  }

  get description(): string {
    return this.db.description
  }

  async *run(code: string): AsyncGenerator<ExecEvent> {
    if (this.closed) {
      yield errorEvent('DeadKernelError', 'the sql context was closed')
      return
    }
    if (this.running) throw new Error('a cell is already running in this context')
    let finished!: () => void
    this.running = new Promise(r => (finished = r))
    this.stopping = false
    try {
      yield makeEvent('execution_count', { execution_count: ++this.count })
      const { opens, script } = takeOpens(code)
      for (const target of opens) {
        const error = await this.reopen(target)
        if (error) return yield error
        yield makeEvent('stdout', { text: `opened ${this.db.description}\n` })
      }
      for (const stmt of statementsOf(script, this.db.dialect, this.db.server)) {
        if (stmt === undefined) {
          await nextTurn()
          continue
        }
        if (this.stopping) return yield interrupted()
        const keyword = firstKeyword(stmt.text, this.db.dialect, this.db.server, stmt.head)
        try {
          const outcome = await this.db.execute(stmt.text, keyword, this.opts.maxRows, () => this.stopping)
          if ('tables' in outcome) {
            for (const table of outcome.tables) yield makeEvent('result', { results: tableBundle(table) })
            if (outcome.more > 0) yield makeEvent('stdout', { text: `(${outcome.more} more result sets not shown)\n` })
          } else
            yield makeEvent('result', {
              results: 'table' in outcome ? tableBundle(outcome.table) : affectedBundle(outcome.affected),
            })
        } catch (e) {
          if (e instanceof Interrupted) return yield errorEvent('KeyboardInterrupt', e.message)
          if (this.stopping) return yield interrupted()
          return yield statementError(stmt.text, keyword, e)
        }
      }
    } finally {
      this.running = undefined
      finished()
    }
  }

  /**
   * Stops between statements and between rows, and cancels a server's query. A single long
   * SQLite step does not stop; the code section's escalation then closes the context.
   */
  async interrupt(): Promise<void> {
    const running = this.running
    if (!running) return
    this.stopping = true
    this.db.cancel()
    await within(running, 1000)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.stopping = true
    this.db.cancel()
    await this.db.close()
  }

  private async reopen(target: string): Promise<ExecEvent | undefined> {
    let next: Database
    try {
      next = await openDatabase(target, this.opts.cwd)
    } catch (e) {
      return errorEvent('DBInitError', (e as Error).message, [`.open ${target}`])
    }
    await this.db.close().catch(() => {})
    this.db = next
  }
}

/**
 * `.open <target>` lines at the top of a cell, and the script after them. Read a line at a time
 * up to the first other line: a cell split into all its lines and joined again held the event
 * loop for each of them (64 MiB of `--` lines: 3.7 million strings).
 */
function takeOpens(code: string): { opens: string[]; script: string } {
  const opens: string[] = []
  for (let start = 0; ;) {
    const end = code.indexOf('\n', start)
    const line = code.slice(start, end < 0 ? code.length : end).trim()
    if (line !== '') {
      const [, target] = /^\.open\s+(\S+)\s*$/.exec(line) ?? []
      if (target === undefined) return { opens, script: code.slice(start) }
      opens.push(target)
    }
    if (end < 0) return { opens, script: '' }
    start = end + 1
  }
}

const interrupted = () => errorEvent('KeyboardInterrupt', 'execution stopped by interrupt')

/** The reference's names: DBQueryError for reads, DBExecError for everything else. */
function statementError(stmt: string, keyword: string, e: unknown): ExecEvent {
  const err = e as Error & { code?: string; errno?: string; detail?: string; hint?: string; position?: string }
  const ename = READS.has(keyword) ? 'DBQueryError' : 'DBExecError'
  const traceback = [clip(stmt, 500)]
  if (err?.code) traceback.push(`code: ${err.code}${err.errno ? ` (${err.errno})` : ''}`)
  if (err?.detail) traceback.push(`detail: ${err.detail}`)
  if (err?.hint) traceback.push(`hint: ${err.hint}`)
  return errorEvent(ename, err?.message ?? String(e), traceback)
}
