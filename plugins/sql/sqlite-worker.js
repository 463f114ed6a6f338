// The SQLite connection of one sql context, in a Worker thread (embedded in execd as text and
// started from a blob URL): a long statement then never blocks execd's event loop, and an
// interrupt set in shared memory is seen between rows of a long SELECT.
// Requests: {id, op: 'open', path, flag} | {id, op: 'exec', stmt, maxRows} | {id, op: 'close'}.
// Replies: {id, ok: true, ...} | {id, ok: false, error: {message, code, interrupted}}.
import { Database } from 'bun:sqlite'

const CHECK_EVERY = 256
const INTERRUPTED = new Error('execution stopped by interrupt')
let db
let stop

self.onmessage = ({ data: m }) => {
  try {
    if (m.op === 'open') {
      stop = new Int32Array(m.flag)
      db = new Database(m.path, { create: true, safeIntegers: true })
      postMessage({ id: m.id, ok: true, version: db.query('SELECT sqlite_version() AS v').get().v })
    } else if (m.op === 'exec') {
      postMessage({ id: m.id, ok: true, outcome: execute(m.stmt, m.maxRows) })
    } else if (m.op === 'close') {
      db?.close(false)
      postMessage({ id: m.id, ok: true })
    }
  } catch (e) {
    const error = { message: String(e?.message ?? e), code: e?.code, interrupted: e === INTERRUPTED }
    postMessage({ id: m.id, ok: false, error })
  }
}

// Characters (blob bytes count twice: they go out as hex) of values one result carries at
// most. The row limit alone let one row hold a 300 MB string: turning that into a result event
// held execd's event loop for minutes while its memory grew past 5 GiB.
const MAX_RESULT_CHARS = 4 * 1024 * 1024

const sizeOf = v => (typeof v === 'string' ? v.length : v instanceof Uint8Array ? 2 * v.byteLength : 8)
const cut = (v, room) =>
  typeof v === 'string' ? v.slice(0, room) : v instanceof Uint8Array ? v.subarray(0, room >> 1) : v

/** Adds `values` to `rows` unless the budget is spent: false then (the result is truncated). */
function take(rows, values, budget) {
  const size = values.reduce((n, v) => n + sizeOf(v), 0)
  if (size <= budget.left) {
    budget.left -= size
    rows.push(values)
    return true
  }
  // A first row too big on its own comes cut, each value to its share of the budget.
  if (rows.length === 0) rows.push(values.map(v => cut(v, Math.floor(MAX_RESULT_CHARS / values.length))))
  return false
}

function execute(sql, maxRows) {
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
      if (rows.length % CHECK_EVERY === 0 && Atomics.load(stop, 0) === 1) throw INTERRUPTED
    }
    return { columns, rows, truncated: false }
  } finally {
    stmt.finalize()
  }
}
