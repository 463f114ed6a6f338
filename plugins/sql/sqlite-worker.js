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

function execute(sql, maxRows) {
  const stmt = db.prepare(sql)
  try {
    const columns = stmt.columnNames
    if (columns.length === 0) return { affected: Number(stmt.run().changes) }
    // Row objects lose repeated column names (SELECT 1 AS a, 2 AS a); only then take all rows at once.
    if (new Set(columns).size !== columns.length) {
      const all = stmt.values()
      return { columns, rows: all.slice(0, maxRows), truncated: all.length > maxRows }
    }
    const rows = []
    for (const row of stmt.iterate()) {
      if (rows.length === maxRows) return { columns, rows, truncated: true }
      rows.push(columns.map(c => row[c]))
      if (rows.length % CHECK_EVERY === 0 && Atomics.load(stop, 0) === 1) throw INTERRUPTED
    }
    return { columns, rows, truncated: false }
  } finally {
    stmt.finalize()
  }
}
