// The SQLite connection of one sql context, in a child process of execd: the execd executable
// acting as Bun runs this file (embedded in execd as text, written to a private temp dir).
// execd can kill a process; a Worker thread stuck in one long SQLite step it could not stop
// (bun:sqlite has no sqlite3_interrupt), and the thread kept a core busy after its context.
// Protocol: Bun IPC, JSON messages; values go out as the JSON cells of a result (`cell`).
//   parent → child: {id, op: 'open', path} | {id, op: 'exec', stmt, maxRows} | {id, op: 'close'}
//                   | {op: 'interrupt'} (seen between rows: the row loop yields to the event
//                   loop every CHECK_EVERY rows; one long step is ended by killing the child).
//   child → parent: {id, ok: true, ...} | {id, ok: false, error: {message, code, interrupted}}.
import { Database } from 'bun:sqlite'

const CHECK_EVERY = 256
const INTERRUPTED = new Error('execution stopped by interrupt')
const proc = process
let db
let stop = false

proc.on('disconnect', () => proc.exit(0))
proc.on('message', async m => {
  if (m?.op === 'interrupt') return void (stop = true)
  try {
    if (m.op === 'open') {
      db = new Database(m.path, { create: true, safeIntegers: true })
      proc.send({ id: m.id, ok: true, version: db.query('SELECT sqlite_version() AS v').get().v })
    } else if (m.op === 'exec') {
      stop = false
      proc.send({ id: m.id, ok: true, outcome: await execute(m.stmt, m.maxRows) })
    } else if (m.op === 'close') {
      db?.close(false)
      db = undefined
      proc.send({ id: m.id, ok: true })
    }
  } catch (e) {
    const error = { message: String(e?.message ?? e), code: e?.code, interrupted: e === INTERRUPTED }
    proc.send({ id: m.id, ok: false, error })
  }
})
proc.send({ ready: true })

// Characters (blob bytes count twice: they go out as hex) of values one result carries at
// most. The row limit alone let one row hold a 300 MB string: turning that into a result event
// held execd's event loop for minutes while its memory grew past 5 GiB.
const MAX_RESULT_CHARS = 4 * 1024 * 1024

const sizeOf = v => (typeof v === 'string' ? v.length : v instanceof Uint8Array ? 2 * v.byteLength : 8)
const cut = (v, room) =>
  typeof v === 'string' ? v.slice(0, room) : v instanceof Uint8Array ? v.subarray(0, room >> 1) : v

/**
 * A SQLite value as the JSON cell the result carries (format.ts `toCell`, for the types SQLite
 * has), made here so rows cross the channel as plain JSON and execd only parses them.
 */
const cell = v =>
  typeof v === 'bigint'
    ? Number.isSafeInteger(Number(v))
      ? Number(v)
      : v.toString()
    : typeof v === 'number'
      ? Number.isFinite(v)
        ? v
        : String(v)
      : v instanceof Uint8Array
        ? `\\x${Buffer.from(v).toString('hex')}`
        : (v ?? null)

/** Adds `values` to `rows` unless the budget is spent: false then (the result is truncated). */
function take(rows, values, budget) {
  const size = values.reduce((n, v) => n + sizeOf(v), 0)
  if (size <= budget.left) {
    budget.left -= size
    rows.push(values.map(cell))
    return true
  }
  // A first row too big on its own comes cut, each value to its share of the budget.
  if (rows.length === 0) rows.push(values.map(v => cell(cut(v, Math.floor(MAX_RESULT_CHARS / values.length)))))
  return false
}

async function execute(sql, maxRows) {
  const stmt = db.prepare(sql)
  try {
    const columns = stmt.columnNames
    if (columns.length === 0) return { affected: Number(stmt.run().changes) }
    const rows = []
    const budget = { left: MAX_RESULT_CHARS }
    // Row objects lose repeated column names (SELECT 1 AS a, 2 AS a); only then take all rows at once.
    if (new Set(columns).size !== columns.length) {
      const all = stmt.values()
      for (const values of all.slice(0, maxRows))
        if (!take(rows, values, budget)) return { columns, rows, truncated: true }
      return { columns, rows, truncated: all.length > maxRows }
    }
    for (const row of stmt.iterate()) {
      if (rows.length === maxRows) return { columns, rows, truncated: true }
      if (
        !take(
          rows,
          columns.map(c => row[c]),
          budget,
        )
      )
        return { columns, rows, truncated: true }
      if (rows.length % CHECK_EVERY === 0) {
        // Lets an interrupt message in; the statement stays open across the pause.
        await new Promise(setImmediate)
        if (stop) throw INTERRUPTED
      }
    }
    return { columns, rows, truncated: false }
  } finally {
    stmt.finalize()
  }
}
