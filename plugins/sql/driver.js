// The database connection of one sql context, in a child process of execd: the execd
// executable acting as Bun runs this file (embedded in execd as text, written to a private temp
// dir). Embedded SQLite (bun:sqlite) or a PostgreSQL / MySQL server (Bun's SQL client).
// execd can kill a process; a Worker thread stuck in one long SQLite step it could not stop
// (bun:sqlite has no sqlite3_interrupt), and the thread kept a core busy after its context. A
// server's client loads a whole result before any row limit applies (Bun's SQL has no
// cursor): 3 million rows grew execd by 430 MiB, one 100 MB value froze it for 10 s. Here such
// a result costs this process only, and only a bounded result crosses to execd; a query
// (SELECT, WITH, VALUES, TABLE) is also bounded on the server, so rows past the limit are not
// sent (`query`).
// Protocol: Bun IPC, JSON messages; values go out as the JSON cells of a result (`cell`).
//   parent → child: {id, op: 'open', path} | {id, op: 'connect', dsn} | {id, op: 'exec', stmt,
//                   maxRows, keyword (its first, split.ts firstKeyword)} | {id, op: 'close'} |
//                   {op: 'interrupt'} (SQLite: seen between rows,
//                   the row loop yields to the event loop every CHECK_EVERY rows, one long step
//                   is ended by killing the child; a server: its query is cancelled — MySQL's
//                   client cannot, so a second connection sends KILL QUERY for ours).
//   child → parent: {id, ok: true, ...} | {id, ok: false, error: {message, code, interrupted,
//                   errno, detail, hint}}.
import { SQL } from 'bun'
import { Database } from 'bun:sqlite'

const CHECK_EVERY = 256
const INTERRUPTED = new Error('execution stopped by interrupt')
const proc = process
let db
let server
let inflight
/** MySQL: the DSN and our connection's id, for KILL QUERY from a second connection. */
let mysql
let stop = false

proc.on('disconnect', () => proc.exit(0))
proc.on('message', async m => {
  if (m?.op === 'interrupt') {
    stop = true
    if (inflight && mysql) return void killQuery(mysql)
    return void inflight?.cancel()
  }
  try {
    if (m.op === 'open') {
      db = new Database(m.path, { create: true, safeIntegers: true })
      proc.send({ id: m.id, ok: true, version: db.query('SELECT sqlite_version() AS v').get().v })
    } else if (m.op === 'connect') {
      // One connection: session state (SET, temporary tables, transactions) lasts the context.
      // bigint: int8 as BigInt, which `cell` turns into a number when it fits.
      server = new SQL(m.dsn, { max: 1, bigint: true })
      if (/^(mysql|mariadb):/i.test(m.dsn)) {
        const [[id]] = await server.unsafe('SELECT CONNECTION_ID()').values()
        mysql = { dsn: m.dsn, id: String(id) }
      } else {
        await server.unsafe('SELECT 1')
      }
      proc.send({ id: m.id, ok: true })
    } else if (m.op === 'exec') {
      stop = false
      const outcome = server ? await query(m.stmt, m.maxRows, m.keyword) : await execute(m.stmt, m.maxRows)
      proc.send({ id: m.id, ok: true, outcome })
    } else if (m.op === 'close') {
      db?.close(false)
      db = undefined
      await server?.close({ timeout: 1 })
      server = undefined
      proc.send({ id: m.id, ok: true })
    }
  } catch (e) {
    const interrupted = e === INTERRUPTED || (stop && server !== undefined)
    const { message = String(e), code, errno, detail, hint } = e ?? {}
    proc.send({ id: m.id, ok: false, error: { message: String(message), code, errno, detail, hint, interrupted } })
  }
})
proc.send({ ready: true })

// Characters (blob bytes count twice: they go out as hex) of values one result carries at
// most. The row limit alone let one row hold a 300 MB string: turning that into a result event
// held execd's event loop for minutes while its memory grew past 5 GiB.
const MAX_RESULT_CHARS = 4 * 1024 * 1024

const sizeOf = v =>
  typeof v === 'string'
    ? v.length
    : v instanceof Uint8Array
      ? 2 * v.byteLength
      : v !== null && typeof v === 'object' && !(v instanceof Date)
        ? JSON.stringify(v, bigints).length
        : 8
const cut = (v, room) =>
  typeof v === 'string'
    ? v.slice(0, room)
    : v instanceof Uint8Array
      ? v.subarray(0, room >> 1)
      : v !== null && typeof v === 'object' && !(v instanceof Date) && sizeOf(v) > room
        ? JSON.stringify(v, bigints).slice(0, room)
        : v
const bigints = (_, x) => (typeof x === 'bigint' ? x.toString() : x)

/**
 * A driver's value as the JSON cell a result carries (execd's format.ts documents the shape):
 * big integers as strings, blobs as hex, dates as ISO text, JSON and arrays as themselves; made
 * here so rows cross the channel as plain JSON and execd only parses them.
 */
const cell = v =>
  v === null || v === undefined
    ? null
    : typeof v === 'bigint'
      ? Number.isSafeInteger(Number(v))
        ? Number(v)
        : v.toString()
      : typeof v === 'number'
        ? Number.isFinite(v)
          ? v
          : String(v)
        : typeof v === 'string' || typeof v === 'boolean'
          ? v
          : v instanceof Date
            ? Number.isNaN(v.getTime())
              ? String(v)
              : v.toISOString()
            : v instanceof Uint8Array
              ? `\\x${Buffer.from(v).toString('hex')}`
              : Array.isArray(v)
                ? v.map(cell)
                : typeof v === 'object'
                  ? JSON.parse(JSON.stringify(v, bigints))
                  : String(v)

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

/** Ends the statement running on our MySQL connection; the connection and its session stay. */
async function killQuery({ dsn, id }) {
  const other = new SQL(dsn, { max: 1, connectionTimeout: 5 })
  try {
    await other.unsafe(`KILL QUERY ${id}`)
  } catch {
    // Finished meanwhile, or the server refuses: the interrupt's escalation still ends the cell.
  } finally {
    await other.close({ timeout: 0 })
  }
}

/**
 * One statement on the server: rows within the row limit and the budget, or the count it changed.
 * A query is read through a cursor (PostgreSQL) or under the session's select limit (MySQL), so
 * the server sends at most the row limit and one more; anything else (INSERT … RETURNING, SHOW,
 * a query either refuses) is taken whole, as the client reads every result.
 */
async function query(stmt, maxRows, keyword) {
  if (QUERIES.has(keyword) && !WHOLE.test(stmt)) {
    const bounded = mysql ? await underSelectLimit(stmt, maxRows) : await throughCursor(stmt, maxRows)
    if (bounded) return bounded
  }
  outside = false
  return readAll(server.unsafe(stmt).values(), maxRows)
}

/** Statements a PostgreSQL cursor takes and MySQL's select limit bounds. */
const QUERIES = new Set(['SELECT', 'WITH', 'VALUES', 'TABLE'])

/**
 * Queries whose meaning lies past the rows read, which run as they are. A locking clause locks
 * the rows a cursor fetches or a limited scan reaches: SELECT … FOR UPDATE of 10,005 rows locked
 * 10,001, and another session took the rest. MySQL's `INTO OUTFILE` writes under the select
 * limit, and a query of the variable would see ours. Matched anywhere (a string, a comment):
 * such a statement is only read whole, as before any bound.
 */
const WHOLE =
  /\bFOR\s+(?:NO\s+KEY\s+UPDATE|UPDATE|KEY\s+SHARE|SHARE)\b|\bLOCK\s+IN\s+SHARE\s+MODE\b|\bOUTFILE\b|\bsql_select_limit\b/i

/** A whole result, its rows cut to the limit and the budget here. */
async function readAll(pending, maxRows) {
  const result = await sent(pending)
  // MariaDB answers a killed SLEEP() with a row: an interrupted statement is one, whatever came.
  if (stop) throw INTERRUPTED
  const columns = (result.columns ?? []).map(c => c.name)
  if (columns.length === 0) return { affected: Number(result.affectedRows ?? result.count ?? 0) }
  const rows = []
  const budget = { left: MAX_RESULT_CHARS }
  for (const values of result) {
    if (rows.length === maxRows || !take(rows, values, budget)) return { columns, rows, truncated: true }
  }
  return { columns, rows, truncated: false }
}

/** A query the interrupt may cancel while the server runs it. */
async function sent(pending) {
  inflight = pending
  try {
    return await pending
  } finally {
    inflight = undefined
  }
}

/** Our own bookkeeping on the connection: simple protocol, nothing prepared or cached. */
const say = text => server.unsafe(text).simple()

let cursors = 0
/** PostgreSQL: our own COMMIT or ROLLBACK left the session outside a block, and nothing ran since. */
let outside = false

/**
 * PostgreSQL: the query as a cursor fetched in batches up to the row limit and one more, in the
 * transaction it would have had: its own (BEGIN … COMMIT, as a statement alone autocommits), or
 * the session's open one, where a savepoint keeps a DECLARE the server refuses from aborting it.
 * DECLARE only plans the query, so a refusal (a data-modifying WITH, SELECT … INTO, an error of
 * the statement itself) ran nothing: undefined, and the statement runs as it is, once. Rows past
 * the limit are never computed, as a client's row limit stops a portal (JDBC's maxRows).
 */
async function throughCursor(stmt, maxRows) {
  const name = `execd_rows_${++cursors}`
  let own = outside
  outside = false
  if (!own) {
    try {
      await say('SAVEPOINT execd_cursor')
    } catch (e) {
      // 25P01: no transaction block; anything else (an aborted block: 25P02) the statement says itself.
      if (e?.errno !== '25P01') return undefined
      own = true
    }
  }
  try {
    // The newline keeps a last `--` comment of the statement its own.
    await sent(server.unsafe(`${own ? 'BEGIN;\n' : ''}DECLARE ${name} NO SCROLL CURSOR FOR\n${stmt}\n`))
  } catch (e) {
    await say(own ? 'ROLLBACK' : 'ROLLBACK TO SAVEPOINT execd_cursor; RELEASE SAVEPOINT execd_cursor')
    outside = own
    if (stop) throw e
    return undefined
  }
  if (!own) await say('RELEASE SAVEPOINT execd_cursor')
  let done = false
  try {
    const outcome = await fetchRows(name, maxRows)
    await say(own ? `CLOSE ${name}; COMMIT` : `CLOSE ${name}`)
    done = true
    outside = own
    return outcome
  } finally {
    // An error or an interrupt: our transaction is undone as the statement's would be; in the
    // session's, the cursor goes (an aborted block drops it at its ROLLBACK).
    if (!done)
      await say(own ? 'ROLLBACK' : `CLOSE ${name}`).then(
        () => (outside = own),
        () => {},
      )
  }
}

/**
 * Batches sized to the budget left (a first of 64 rows, then as many as the rows so far say
 * fit, at most 1,024; never past the row limit and one more), so this process holds about one
 * budget, not a batch's worst case.
 */
async function fetchRows(name, maxRows) {
  const rows = []
  const budget = { left: MAX_RESULT_CHARS }
  let columns
  for (let want = Math.min(64, maxRows + 1); ;) {
    const batch = await sent(say(`FETCH FORWARD ${want} FROM ${name}`).values())
    if (stop) throw INTERRUPTED
    columns ??= (batch.columns ?? []).map(c => c.name)
    if (columns.length === 0) return { affected: 0 }
    for (const values of batch) {
      if (rows.length === maxRows || !take(rows, values, budget)) return { columns, rows, truncated: true }
    }
    if (batch.length < want) return { columns, rows, truncated: false }
    const perRow = Math.max(1, (MAX_RESULT_CHARS - budget.left) / rows.length)
    want = Math.max(1, Math.min(1024, maxRows + 1 - rows.length, Math.ceil(budget.left / perRow) + 1))
  }
}

/**
 * MySQL: the query under `sql_select_limit` (the server's own bound on a top-level SELECT's
 * rows: subqueries, INSERT … SELECT and stored routines are not affected), the session's value
 * put back after (what it must not bound is WHOLE).
 */
async function underSelectLimit(stmt, maxRows) {
  const [[was]] = await server.unsafe('SELECT @@SESSION.sql_select_limit').values()
  const limit = BigInt(maxRows) + 1n
  if (BigInt(was) <= limit) return readAll(server.unsafe(stmt).values(), maxRows)
  await server.unsafe(`SET SESSION sql_select_limit = ${limit}`)
  const restore = () => server.unsafe(`SET SESSION sql_select_limit = ${was}`)
  try {
    return await readAll(server.unsafe(stmt).values(), maxRows)
  } finally {
    // An interrupt's KILL QUERY, sent from another connection, can land on this SET instead.
    await restore().catch(restore)
  }
}

async function execute(sql, maxRows) {
  const stmt = db.prepare(sql)
  let keyed
  try {
    const columns = stmt.columnNames
    if (columns.length === 0) return { affected: Number(stmt.run().changes) }
    const rows = []
    const budget = { left: MAX_RESULT_CHARS }
    keyed = new Set(columns).size === columns.length ? stmt : apart(sql, columns.length)
    // A statement with repeated names that cannot be a subquery (INSERT … RETURNING a, a): all rows at once.
    if (!keyed) {
      const all = stmt.values()
      for (const values of all.slice(0, maxRows))
        if (!take(rows, values, budget)) return { columns, rows, truncated: true }
      return { columns, rows, truncated: all.length > maxRows }
    }
    const keys = keyed.columnNames
    for (const row of keyed.iterate()) {
      if (rows.length === maxRows) return { columns, rows, truncated: true }
      if (
        !take(
          rows,
          keys.map(k => row[k]),
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
    if (keyed && keyed !== stmt) keyed.finalize()
  }
}

/**
 * Row objects lose repeated column names (SELECT x AS a, x AS a), and `values()` takes every row
 * at once, past the row limit and any interrupt: 30 million rows held this process 61 s and
 * 3.9 GB for a 10,000-row answer. As a subquery the statement's names are made unique by SQLite
 * (`a`, `a:1`), in order, and its rows are read one by one like any other's. Undefined where it
 * cannot be one (INSERT … RETURNING, PRAGMA); the newline keeps a last `--` comment its own.
 */
function apart(sql, count) {
  let wrapped
  try {
    wrapped = db.prepare(`SELECT * FROM (\n${sql}\n)`)
  } catch {
    return undefined
  }
  const names = wrapped.columnNames
  if (names.length === count && new Set(names).size === count) return wrapped
  wrapped.finalize()
  return undefined
}
